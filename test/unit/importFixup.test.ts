import { describe, expect, it } from 'vitest';
import { requestFromFlags } from '../../src/cli/commands/import.js';
import { decideFixup, fixupBus, isLegacyWindows, v2vError, v2vInputXml, v2vStage } from '../../src/model/importFixup.js';
import { buildImportDomain, checkImport, type ImportFacts, type ImportRequest, planImport } from '../../src/model/importVmwarePlan.js';
import { UserError } from '../../src/model/userError.js';
import { parseVmx } from '../../src/model/vmx.js';

const vmx = (guestOS: string, disks: string[]) =>
  [
    '.encoding = "UTF-8"',
    'config.version = "8"',
    'virtualHW.version = "14"',
    `displayName = "fx-${guestOS}"`,
    `guestOS = "${guestOS}"`,
    'memsize = "512"',
    'scsi0.present = "TRUE"',
    'scsi0.virtualDev = "lsilogic"',
    ...disks.flatMap((d, i) => [`scsi0:${i}.present = "TRUE"`, `scsi0:${i}.fileName = "${d}"`]),
    '',
  ].join('\n');

function factsFor(guestOS: string, disks = ['a.vmdk'], v2vInPlace = true): ImportFacts {
  const guest = parseVmx(vmx(guestOS, disks), { resolveFile: (n) => `/vm/fx/${n}` });
  const desc = { version: 1, cid: 1, parentCid: 0xffffffff, createType: 'monolithicSparse', extents: [], ddb: {}, parentFileNameHint: null };
  return {
    vmxPath: '/vm/fx/fx.vmx',
    guest,
    disks: disks.map((d, i) => ({ key: `scsi0:${i}`, chain: { active: `/vm/fx/${d}`, links: [{ path: `/vm/fx/${d}`, descriptor: desc }], snapshot: false, warnings: [] }, virtualSize: 8 << 20, unused: [] })),
    locks: [],
    existingGuests: [],
    existingDest: [],
    bridges: [],
    networks: [],
    domainType: 'qemu',
    fixupTools: { v2vInPlace },
  };
}

const OPTS = { uri: 'qemu:///system', xmlFile: '/tmp/x/domain.xml' };
const req = (over: Partial<ImportRequest>): ImportRequest => ({ convert: 'qcow2', bus: 'keep', start: false, ...over });

describe('which fix-up runs after an import and why', () => {
  const linux = { windows: false, guestOS: 'debian11-64' };
  const xp = { windows: true, guestOS: 'winXPPro' };
  const win10 = { windows: true, guestOS: 'windows9-64' };
  const tools = { v2vInPlace: true };

  it('auto: virt-v2v for Linux, for Windows with an ISO; MergeIDE for XP/2003 without; SATA for modern Windows without', () => {
    expect(decideFixup(linux, { convert: 'qcow2', bus: 'keep', fixup: 'auto' }, tools)).toMatchObject({ engine: 'v2v', bus: 'virtio', why: expect.stringMatching(/initramfs.*fstab/) });
    expect(decideFixup(win10, { convert: 'qcow2', bus: 'keep', fixup: 'auto', virtioWin: '/iso/virtio-win.iso' }, tools)).toMatchObject({ engine: 'v2v', bus: 'virtio', why: expect.stringContaining('/iso/virtio-win.iso') });
    expect(decideFixup(xp, { convert: 'qcow2', bus: 'keep', fixup: 'auto' }, tools)).toMatchObject({ engine: 'mergeide', bus: 'ide', why: expect.stringContaining('no virtio-win ISO named') });
    expect(decideFixup(xp, { convert: 'qcow2', bus: 'keep', fixup: 'auto' }, { v2vInPlace: false })).toMatchObject({ engine: 'mergeide', why: expect.stringContaining('not installed') });
    expect(decideFixup(win10, { convert: 'qcow2', bus: 'keep', fixup: 'auto' }, tools)).toMatchObject({ engine: 'none', bus: 'sata' });
    expect(decideFixup(linux, { convert: 'qcow2', bus: 'keep', fixup: 'auto' }, undefined)).toMatchObject({ engine: 'none', why: expect.stringContaining('apt install virt-v2v') });
    for (const d of [decideFixup(linux, { convert: 'qcow2', bus: 'keep', fixup: 'auto' }, tools), decideFixup(xp, { convert: 'raw', bus: 'keep', fixup: 'auto' }, tools)]) {
      expect(d.refusal).toBeUndefined();
    }
  });

  it('never on the only copy: auto does nothing and v2v/mergeide are refused when the vmdk files are used in place', () => {
    expect(decideFixup(linux, { convert: 'none', bus: 'keep', fixup: 'auto' }, tools)).toMatchObject({ engine: 'none', why: expect.stringContaining('only copy') });
    for (const fixup of ['v2v', 'mergeide'] as const) {
      const d = decideFixup(xp, { convert: 'none', bus: 'keep', fixup, virtioWin: '/iso/v.iso' }, tools);
      expect(d.refusal).toBeInstanceOf(UserError);
      expect(d.refusal?.fix).toContain('--convert qcow2');
    }
  });

  it('an explicit choice that cannot be honoured is one sentence and its fix', () => {
    expect(decideFixup(linux, { convert: 'qcow2', bus: 'keep', fixup: 'v2v' }, { v2vInPlace: false }).refusal?.sentence).toBe('virt-v2v-in-place is not installed on this host.');
    expect(decideFixup(win10, { convert: 'qcow2', bus: 'keep', fixup: 'v2v' }, tools).refusal?.fix).toContain('--virtio-win');
    expect(decideFixup(linux, { convert: 'qcow2', bus: 'keep', fixup: 'mergeide' }, tools).refusal?.sentence).toContain('debian11-64');
    expect(decideFixup(linux, { convert: 'qcow2', bus: 'keep' }, tools)).toMatchObject({ engine: 'none' });
  });

  it("the admin's bus wins over the fix-up's", () => {
    const d = decideFixup(linux, { convert: 'qcow2', bus: 'keep', fixup: 'v2v' }, tools);
    expect(fixupBus({ bus: 'keep' }, d)).toBe('virtio');
    expect(fixupBus({ bus: 'sata' }, d)).toBe('sata');
    expect(isLegacyWindows('winNetStandard')).toBe(true);
    expect(isLegacyWindows('windows11-64')).toBe(false);
  });
});

describe('the fix-up in the import plan', () => {
  it('v2v runs on every temp copy after all are made and compared, before any is put in place; disks go on virtio', () => {
    const facts = factsFor('debian11-64', ['a.vmdk', 'b.vmdk']);
    const plan = planImport(facts, req({ fixup: 'auto' }), OPTS);
    expect(plan.steps.map((s) => s.id)).toEqual([
      'disk0-tempdir',
      'disk0-convert',
      'disk0-compare',
      'disk1-tempdir',
      'disk1-convert',
      'disk1-compare',
      'fixup-v2v',
      'disk0-place',
      'disk0-droptemp',
      'disk1-place',
      'disk1-droptemp',
      'define',
    ]);
    const step = plan.steps.find((s) => s.id === 'fixup-v2v');
    expect(step?.command?.argv).toEqual(['env', 'LIBGUESTFS_BACKEND=direct', 'LIBGUESTFS_BACKEND_SETTINGS=force_tcg', 'virt-v2v-in-place', '-i', 'libvirtxml', '--', '/vm/fx/.a.qcow2.virtdeck-tmp/virt-v2v-input.xml']);
    const xml = (step?.action?.args as { xml: string } | undefined)?.xml;
    expect(xml).toContain("<source file='/vm/fx/.a.qcow2.virtdeck-tmp/a.qcow2'/>");
    expect(xml).toContain("<source file='/vm/fx/.b.qcow2.virtdeck-tmp/b.qcow2'/>");
    // Never the VMware files, never the final names.
    expect(xml).not.toContain('.vmdk');
    expect(xml).not.toContain("'/vm/fx/a.qcow2'");
    expect(step?.undo?.partial).toBe(true);
    expect(buildImportDomain(facts, req({ fixup: 'auto' })).xml).toContain("bus='virtio'");
    // KVM: no force_tcg.
    const kvm = planImport({ ...facts, domainType: 'kvm' }, req({ fixup: 'v2v' }), OPTS).steps.find((s) => s.id === 'fixup-v2v');
    expect(kvm?.command?.argv).not.toContain('LIBGUESTFS_BACKEND_SETTINGS=force_tcg');
  });

  it('a Windows v2v gets VIRTIO_WIN; MergeIDE runs on the defined guest before it starts, on IDE', () => {
    const w = planImport(factsFor('windows9-64'), req({ fixup: 'v2v', virtioWin: '/iso/virtio-win.iso' }), OPTS);
    expect(w.steps.find((s) => s.id === 'fixup-v2v')?.command?.argv).toContain('VIRTIO_WIN=/iso/virtio-win.iso');
    const facts = factsFor('winNetStandard');
    const m = planImport(facts, req({ fixup: 'auto', start: true }), OPTS);
    expect(m.steps.map((s) => s.id).slice(-3)).toEqual(['define', 'fixup-mergeide', 'start']);
    expect(m.steps.find((s) => s.id === 'fixup-mergeide')?.action).toEqual({ name: 'import.mergeide', args: { guest: 'fx-winNetStandard' } });
    expect(buildImportDomain(facts, req({ fixup: 'auto' })).xml).toContain("bus='ide'");
  });

  it('without a fix-up the plan is the plain copy it always was', () => {
    const facts = factsFor('debian11-64', ['a.vmdk', 'b.vmdk']);
    const ids = planImport(facts, req({}), OPTS).steps.map((s) => s.id);
    expect(ids).toEqual(['disk0-tempdir', 'disk0-convert', 'disk0-compare', 'disk0-place', 'disk0-droptemp', 'disk1-tempdir', 'disk1-convert', 'disk1-compare', 'disk1-place', 'disk1-droptemp', 'define']);
    expect(buildImportDomain(facts, req({})).xml).toContain("bus='scsi'");
  });

  it('checkImport refuses a fix-up on the VMware files themselves', () => {
    const c = checkImport(factsFor('debian11-64'), req({ convert: 'none', fixup: 'v2v' }));
    expect(c.refusals[0]?.sentence).toMatch(/without conversion they are the VMware files themselves/);
  });

  it('the CLI flags: --fixup is checked, --virtio-win only with a fix-up', () => {
    const g = factsFor('debian11-64').guest;
    expect(requestFromFlags(g, { convert: 'qcow2', fixup: 'auto', virtioWin: '/iso/v.iso' })).toMatchObject({ fixup: 'auto', virtioWin: '/iso/v.iso' });
    expect(requestFromFlags(g, { convert: 'qcow2' }).fixup).toBe('none');
    expect(() => requestFromFlags(g, { convert: 'qcow2', fixup: 'yes' })).toThrow(/--fixup yes is not a choice/);
    expect(() => requestFromFlags(g, { convert: 'qcow2', virtioWin: '/iso/v.iso' })).toThrow(/--virtio-win only goes with a fix-up/);
  });
});

describe('virt-v2v-in-place input and output', () => {
  it('escapes names and paths from the .vmx in its input XML', () => {
    const xml = v2vInputXml("a'<b>", { memoryMiB: 512, vcpus: 2, firmware: 'efi' }, [{ path: "/x/it's.qcow2", format: 'qcow2' }]);
    expect(xml).toContain('<name>a&apos;&lt;b&gt;</name>');
    expect(xml).toContain("<source file='/x/it&apos;s.qcow2'/>");
    expect(xml).toContain("<os firmware='efi'>");
    expect(() => v2vInputXml('a\u0001b', { memoryMiB: 1, vcpus: 1, firmware: 'bios' }, [])).toThrow(UserError);
  });

  it('stage lines become progress; the error sentence is found', () => {
    expect(v2vStage('[  37.0] Inspecting the source')).toEqual({ stage: 'Inspecting the source', fraction: 0.4 });
    expect(v2vStage('[ 120.5] Converting Debian GNU/Linux 12 to run on KVM')?.fraction).toBe(0.5);
    expect(v2vStage('virt-v2v-in-place: warning: x')).toBeNull();
    const out = '[   0.0] Setting up the source: -i libvirtxml d.xml\nvirt-v2v-in-place: error: inspection could not detect the source guest (or physical \nmachine).\n\nAssuming that you are running';
    expect(v2vError(out)).toBe('inspection could not detect the source guest (or physical machine).');
  });
});
