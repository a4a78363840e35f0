/**
 * The MergeIDE wizard's form, pure: the way (offline or in-guest ISO), its path field, and the
 * MergeIdeInput they make. The explanation lines say what each way does before anything runs.
 */
import type { MergeIdeInput } from '../../../jobs/mergeide.js';
import { FieldRefusal } from '../../../model/userError.js';

export const MERGEIDE_STEPS = ['way', 'review'] as const;
export type MergeIdeStepId = (typeof MERGEIDE_STEPS)[number];

export interface MergeIdeForm {
  mode: 'offline' | 'iso';
  virtioIso: string;
  isoPath: string;
}

export function initialMergeIdeForm(running: boolean): MergeIdeForm {
  // A running guest cannot be changed offline; the ISO is the way that works now.
  return { mode: running ? 'iso' : 'offline', virtioIso: '', isoPath: '' };
}

export const MODE_CHOICES = [
  { value: 'offline', label: 'offline: edit the registry of the shut-off guest' },
  { value: 'iso', label: 'in-guest: an ISO with mergeide.bat to run inside Windows' },
];

export function explainMode(mode: MergeIdeForm['mode']): string[] {
  return mode === 'offline'
    ? [
        'The SYSTEM hive is read from the disk, the IDE driver entries are merged',
        'into every ControlSet00N, checked, and written back. Backups: the original',
        "in virtdeck's state dir, and SYSTEM.virtdeck-backup-DATE in the guest.",
        'A virtio-win ISO (optional) adds viostor/vioscsi for Windows XP to 7.',
      ]
    : [
        'An ISO with mergeide.reg and mergeide.bat is attached as a CD-ROM.',
        'Run mergeide.bat inside Windows before its last shutdown on the old',
        'hypervisor (uninstall VMware Tools first).',
      ];
}

export function formToInput(guest: string, f: MergeIdeForm, stateDir?: string): MergeIdeInput {
  const path = (f.mode === 'offline' ? f.virtioIso : f.isoPath).trim();
  if (path && !path.startsWith('/')) throw new FieldRefusal(f.mode === 'offline' ? 'virtioIso' : 'isoPath', `"${path}" is not an absolute path.`, 'Give the full path, starting with /, or leave it empty.');
  return f.mode === 'offline'
    ? { guest, mode: 'offline', virtioIso: path || undefined, stateDir }
    : { guest, mode: 'iso', isoPath: path || undefined, stateDir };
}
