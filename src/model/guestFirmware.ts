/**
 * A guest's firmware as the admin chooses it (New guest) or VMware described it (.vmx, OVF):
 * BIOS, UEFI (OVMF), UEFI with Secure Boot (OVMF's build with Microsoft's keys enrolled), and a
 * TPM 2.0 beside any of them. domainBuild.ts turns it into <os firmware>, SMM and <tpm>.
 */

export type FirmwareChoice = 'bios' | 'uefi' | 'uefi-secure';

export interface GuestFirmware {
  firmware: 'bios' | 'efi';
  secureBoot: boolean;
  tpm: boolean;
}

export function firmwareOfChoice(choice: FirmwareChoice, tpm: boolean): GuestFirmware {
  return { firmware: choice === 'bios' ? 'bios' : 'efi', secureBoot: choice === 'uefi-secure', tpm };
}

/** "BIOS", "UEFI", "UEFI + Secure Boot", each with ", TPM 2.0" when there is one. */
export function firmwareLabel(f: { firmware: 'bios' | 'efi'; secureBoot?: boolean; tpm?: boolean }): string {
  const base = f.firmware === 'efi' ? (f.secureBoot ? 'UEFI + Secure Boot' : 'UEFI') : 'BIOS';
  return f.tpm ? `${base}, TPM 2.0` : base;
}

/** For a one-line summary: '' for plain BIOS, else "UEFI", "UEFI+SB", "BIOS+TPM", "UEFI+SB+TPM". */
export function firmwareShort(f: GuestFirmware): string {
  if (f.firmware === 'bios' && !f.tpm) return '';
  const base = f.firmware === 'efi' ? (f.secureBoot ? 'UEFI+SB' : 'UEFI') : 'BIOS';
  return f.tpm ? `${base}+TPM` : base;
}
