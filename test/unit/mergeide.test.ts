import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  controlSetName,
  controlSetReg,
  controlSetSections,
  describeChanges,
  HKLM_SYSTEM,
  inGuestReg,
  MERGEIDE_BAT,
  MERGEIDE_KEYS,
  missingAfterMerge,
  parseReg,
  plannedChanges,
  renderReg,
  selectCurrent,
  virtioKeys,
} from '../../src/model/mergeide.js';
import { describePlan } from '../../src/model/plan.js';
import { UserError } from '../../src/model/userError.js';

describe('MergeIDE key model', () => {
  it('has the KB314082 entries with their services', () => {
    const cdd = (id: string) => MERGEIDE_KEYS.find((k) => k.path.join('\\') === `Control\\CriticalDeviceDatabase\\${id}`);
    for (const id of ['primary_ide_channel', 'secondary_ide_channel', '*pnp0600', '*azt0502']) expect(cdd(id)?.values).toContainEqual({ name: 'Service', type: 'sz', data: 'atapi' });
    expect(cdd('gendisk')?.values).toContainEqual({ name: 'Service', type: 'sz', data: 'disk' });
    expect(cdd('pci#cc_0101')?.values).toContainEqual({ name: 'Service', type: 'sz', data: 'pciide' });
    for (const dev of ['7010', '7111', '1222', '1230', '2411', '2421', '7199']) expect(cdd(`pci#ven_8086&dev_${dev}`)?.values).toContainEqual({ name: 'Service', type: 'sz', data: 'intelide' });
    for (const svc of ['atapi', 'IntelIde', 'PCIIde']) {
      const k = MERGEIDE_KEYS.find((x) => x.path.join('\\') === `Services\\${svc}`);
      expect(k?.values).toEqual(expect.arrayContaining([
        { name: 'Start', type: 'dword', data: 0 },
        { name: 'Type', type: 'dword', data: 1 },
        { name: 'ErrorControl', type: 'dword', data: 1 },
      ]));
      expect(k?.values.find((v) => v.name === 'ImagePath')).toMatchObject({ type: 'expand_sz' });
    }
  });

  it('renders an in-guest .reg that parses back to the same keys and values', () => {
    const text = inGuestReg();
    expect(text.startsWith('Windows Registry Editor Version 5.00\r\n')).toBe(true);
    expect(text).not.toMatch(/[^\r]\n/);
    const parsed = parseReg(text);
    expect(parsed).toHaveLength(MERGEIDE_KEYS.length);
    parsed.forEach((s, i) => {
      const k = MERGEIDE_KEYS[i];
      expect(s.path).toBe([HKLM_SYSTEM, 'CurrentControlSet', ...(k?.path ?? [])].join('\\'));
      expect(s.values).toEqual(k?.values);
    });
  });

  it('ships assets generated from the model (no drift)', () => {
    expect(readFileSync(new URL('../../assets/mergeide.reg', import.meta.url), 'utf8')).toBe(inGuestReg());
    expect(readFileSync(new URL('../../assets/mergeide.bat', import.meta.url), 'utf8')).toBe(MERGEIDE_BAT);
    expect(MERGEIDE_BAT).toMatch(/regedit \/s "%~dp0mergeide.reg"/);
  });

  it('orders each control set parents first, never CurrentControlSet', () => {
    const sections = controlSetSections(MERGEIDE_KEYS, 'ControlSet002');
    const paths = sections.map((s) => s.path);
    expect(paths[0]).toBe(`${HKLM_SYSTEM}\\ControlSet002`);
    for (const [i, p] of paths.entries()) {
      const parent = p.slice(0, p.lastIndexOf('\\'));
      if (i > 0) expect(paths.slice(0, i)).toContain(parent);
    }
    expect(new Set(paths.map((p) => p.toLowerCase())).size).toBe(paths.length);
    expect(paths.join('\n')).not.toMatch(/CurrentControlSet/);
    expect(paths).toContain(`${HKLM_SYSTEM}\\ControlSet002\\Control\\CriticalDeviceDatabase`);
    expect(() => controlSetReg(MERGEIDE_KEYS, 'CurrentControlSet')).toThrow(UserError);
    const round = parseReg(controlSetReg(MERGEIDE_KEYS, 'ControlSet002'));
    expect(round.map((s) => s.path)).toEqual(paths);
  });

  it('reads hivexregedit exports: hex(1) strings, hex(2), dwords, continuation lines', () => {
    const exported = [
      'Windows Registry Editor Version 5.00',
      '',
      '[HKEY_LOCAL_MACHINE\\SYSTEM\\Select]',
      '"Current"=dword:00000002',
      '"S"=hex(1):68,00,69,00,00,00',
      '"E"=hex(2):53,00,\\',
      '  00,00',
      '"B"=hex:01,02',
      '"Q"="a \\"quoted\\" \\\\ path"',
      '',
    ].join('\n');
    const s = parseReg(exported);
    expect(selectCurrent(s)).toBe(2);
    expect(s[0]?.values).toEqual([
      { name: 'Current', type: 'dword', data: 2 },
      { name: 'S', type: 'sz', data: 'hi' },
      { name: 'E', type: 'expand_sz', data: 'S' },
      { name: 'B', type: 'raw', kind: 3, hex: '01,02' },
      { name: 'Q', type: 'sz', data: 'a "quoted" \\ path' },
    ]);
    expect(parseReg(renderReg(s))).toEqual(s);
    expect(() => parseReg('hello')).toThrow(/not a .reg file/);
    expect(() => parseReg('REGEDIT4\n"x"=dword:1')).toThrow(/before any key/);
  });

  it('says exactly what a merge adds or changes, per control set', () => {
    const cs = 'ControlSet001';
    const existing = parseReg(
      renderReg([
        { path: `${HKLM_SYSTEM}\\${cs}\\Control`, values: [] },
        { path: `${HKLM_SYSTEM}\\${cs}\\Control\\CriticalDeviceDatabase`, values: [] },
        { path: `${HKLM_SYSTEM}\\${cs}\\Services`, values: [] },
        { path: `${HKLM_SYSTEM}\\${cs}\\Services\\atapi`, values: [{ name: 'Start', type: 'dword', data: 3 }, { name: 'Type', type: 'dword', data: 1 }] },
      ]),
    );
    const changes = plannedChanges(MERGEIDE_KEYS, cs, existing);
    expect(changes).toContainEqual({ controlSet: cs, key: 'Services\\atapi', kind: 'value-changed', value: 'Start', before: '3', after: '0' });
    expect(changes.find((c) => c.key === 'Services\\atapi' && c.value === 'Type')).toBeUndefined();
    expect(changes.find((c) => c.kind === 'key-added' && c.key === 'Services\\atapi')).toBeUndefined();
    expect(changes).toContainEqual({ controlSet: cs, key: 'Services\\IntelIde', kind: 'key-added' });
    expect(changes.filter((c) => c.key === 'Control')).toEqual([]);
    const lines = describeChanges(changes, [cs, 'ControlSet002']);
    expect(lines[0]).toMatch(/^ControlSet001: \d+ keys added, \d+ values added or changed$/);
    expect(lines.at(-1)).toMatch(/ControlSet002: already has every key/);

    const after = parseReg(controlSetReg(MERGEIDE_KEYS, cs));
    expect(missingAfterMerge(MERGEIDE_KEYS, cs, after)).toEqual([]);
    expect(missingAfterMerge(MERGEIDE_KEYS, cs, existing)[0]).toMatch(/CriticalDeviceDatabase/);
    expect(plannedChanges(MERGEIDE_KEYS, cs, after)).toEqual([]);
  });

  it('has virtio entries for viostor and vioscsi', () => {
    const keys = virtioKeys();
    expect(keys.map((k) => k.path.at(-1))).toEqual(expect.arrayContaining(['PCI#VEN_1AF4&DEV_1001&REV_00', 'PCI#VEN_1AF4&DEV_1048&REV_01', 'viostor', 'vioscsi']));
    expect(virtioKeys(['viostor']).some((k) => k.path.includes('vioscsi'))).toBe(false);
    expect(controlSetName(1)).toBe('ControlSet001');
  });
});

describe('MergeIDE offline job pieces (pure)', async () => {
  const job = await import('../../src/jobs/mergeide.js');
const ATAPI_ADDED = { controlSet: 'ControlSet001', key: 'Services\\atapi', kind: 'key-added' as const };
const XP64 = { product: 'Microsoft Windows Server 2003', major: 5, minor: 2, arch: 'i386' };

  it('parses the scan: OS facts, the hive found by glob, unmatched globs ignored', () => {
    const m = '@@virtdeck-mi-0a1b2c3d4e5f@@';
    const out = [
      `${m} os`,
      '/dev/sda1',
      `${m} fs`,
      '/dev/sda1: ntfs',
      '/dev/sdb1: ntfs',
      '/dev/sdb2: swap',
      `${m} fs-end`,
      '@@virtdeck-round-0a1b2c3d4e5f@@ 0',
      `${m} root`,
      `${m} product-name`,
      'Microsoft Windows Server 2003',
      `${m} major-version`,
      '5',
      `${m} minor-version`,
      '2',
      `${m} arch`,
      'i386',
      `${m} try 1`,
      '/WINDOWS/system32/config/system',
      `${m} drivers 1`,
      '/WINDOWS/system32/drivers',
      `${m} try 2`,
      job.HIVE_GLOB,
      `${m} drivers 2`,
      job.DRIVERS_GLOB,
    ].join('\n');
    const r = job.parseScan(out, '/w', m);
    expect(r.os).toEqual(XP64);
    expect(r.found).toEqual([{ index: 1, device: '/dev/sda1', hivePath: '/WINDOWS/system32/config/system', driversDir: '/WINDOWS/system32/drivers', local: '/w/hive-1' }]);
    const [, second, third] = job.scanRounds('/w', m);
    expect(second?.(out)).toContainEqual(['-glob', 'echo', job.HIVE_GLOB]);
    expect(second?.(out)).toContainEqual(['-inspect-get-product-name', '/dev/sda1']);
    expect(third?.(out)).toContainEqual(['-download', '/WINDOWS/system32/config/system', '/w/hive-1']);
  });

  it('the scan passes roots and devices from the image as quoted words, never as script', () => {
    const m = '@@virtdeck-mi-0a1b2c3d4e5f@@';
    const hostileRoot = 'btrfsvol:/dev/sda1/x | touch /root.owned';
    const out = [`${m} os`, hostileRoot, '<! cat /etc/shadow', `${m} fs`, '/dev/vg/x|touch: ntfs', `${m} fs-end`].join('\n');
    const [, second] = job.scanRounds('/w', m);
    const cmds = second?.(out) ?? [];
    expect(cmds).toContainEqual(['-inspect-get-product-name', hostileRoot]);
    expect(cmds).toContainEqual(['-mount-ro', '/dev/vg/x|touch', '/']);
    expect(cmds.flat()).not.toContain('<! cat /etc/shadow');
  });

  it('tells XP–7 from 8+ and finds the virtio driver in either ISO layout', () => {
    expect(job.usesCriticalDeviceDatabase(XP64)).toBe(true);
    expect(job.usesCriticalDeviceDatabase({ ...XP64, major: 6, minor: 1 })).toBe(true);
    expect(job.usesCriticalDeviceDatabase({ ...XP64, major: 6, minor: 2 })).toBe(false);
    expect(job.usesCriticalDeviceDatabase({ ...XP64, major: null })).toBeNull();
    const newLayout = ['/viostor/2k3/x86/viostor.sys', '/viostor/w7/amd64/viostor.sys', '/vioscsi/w7/amd64/vioscsi.sys'];
    expect(job.pickVirtioDriver(newLayout, XP64, 'viostor')).toBe('/viostor/2k3/x86/viostor.sys');
    expect(job.pickVirtioDriver(newLayout, { product: 'Windows 7 Professional', major: 6, minor: 1, arch: 'x86_64' }, 'vioscsi')).toBe('/vioscsi/w7/amd64/vioscsi.sys');
    expect(job.pickVirtioDriver(['/WNET/X86/VIOSTOR.SYS'], XP64, 'viostor')).toBe('/WNET/X86/VIOSTOR.SYS');
    expect(job.pickVirtioDriver(newLayout, XP64, 'vioscsi')).toBeNull();
    expect(job.windows8Text('w10', '/iso/virtio-win.iso', { ...XP64, product: 'Windows 10 Pro', major: 10 }, true)).toMatch(/virt-v2v --in-place -i libvirt w10/);
    expect(job.windows8Text('w10', '/iso/v.iso', { ...XP64, major: 10 }, false)).toMatch(/pnputil/);
  });

  it('plans: working copy, one merge per control set, verify, one rw launch with rollback, byte compare', () => {
    const facts = {
      guest: 'w2k3', disks: [{ path: '/vm/w.qcow2', format: 'qcow2' }], workdir: '/st/mergeide/w2k3-1', original: '/st/mergeide/w2k3-1/system.original',
      device: '/dev/sda1', hivePath: '/WINDOWS/system32/config/system', driversDir: '/WINDOWS/system32/drivers', os: XP64,
      controlSets: ['ControlSet001', 'ControlSet002', 'ControlSet003'], current: 1, changes: [ATAPI_ADDED], drivers: [{ isoPath: '/viostor/2k3/x86/viostor.sys', name: 'viostor.sys' }],
      virtioIso: '/iso/virtio.iso', virtioNote: null, stamp: '20250101T000000Z',
    };
    const plan = job.planMergeIdeOffline(facts);
    expect(plan.steps.map((s) => s.id)).toEqual(['copy', 'merge-ControlSet001', 'merge-ControlSet002', 'merge-ControlSet003', 'extract-drivers', 'verify', 'upload', 'verify-upload']);
    const merge = plan.steps[2];
    expect(merge?.command?.argv).toEqual(['hivexregedit', '--merge', '--prefix', 'HKEY_LOCAL_MACHINE\\SYSTEM', '/st/mergeide/w2k3-1/system.new']);
    expect(merge?.command?.input).toContain('[HKEY_LOCAL_MACHINE\\SYSTEM\\ControlSet002\\Services\\viostor]');
    const upload = plan.steps.find((s) => s.id === 'upload');
    expect(upload?.undo).toMatchObject({ action: { name: 'mergeide.restore' }, partial: true });
    const script = upload?.command?.input ?? '';
    // The in-guest backup is the original kept locally, uploaded before the new hive in the same launch.
    const backup = script.indexOf('upload "/st/mergeide/w2k3-1/system.original" "/WINDOWS/system32/config/');
    expect(backup).toBeGreaterThan(-1);
    expect(backup).toBeLessThan(script.indexOf('upload "/st/mergeide/w2k3-1/system.new"'));
    expect(script).toContain('upload "/st/mergeide/w2k3-1/viostor.sys" "/WINDOWS/system32/drivers/viostor.sys"');
    expect(job.gfQuote('a "b" \\c')).toBe('"a \\"b\\" \\\\c"');
  });

  it('plans nothing when every key and value is there already (issue 12 item 26)', () => {
    const facts = {
      guest: 'w2k3', disks: [{ path: '/vm/w.qcow2', format: 'qcow2' }], workdir: '/st/mergeide/w2k3-2', original: '/st/mergeide/w2k3-2/system.original',
      device: '/dev/sda1', hivePath: '/WINDOWS/system32/config/system', driversDir: null, os: XP64,
      controlSets: ['ControlSet001', 'ControlSet002'], current: 1, changes: [], drivers: [], virtioNote: null, stamp: '20250101T000000Z',
    };
    expect(job.planMergeIdeOffline(facts).steps).toEqual([]);
    const lines = job.summaryLines({ mode: 'offline', facts, plan: job.planMergeIdeOffline(facts), warnings: [] });
    expect(lines).toContain('ControlSet002: already has every key and value; nothing changes');
    expect(lines.join('\n')).not.toMatch(/Backups:/);
    expect(job.planMergeIdeOffline({ ...facts, changes: [ATAPI_ADDED] }).steps.length).toBeGreaterThan(0);
  });

  it("the ISO's steps say to copy it to the old hypervisor, where they run (issue 12 item 29)", () => {
    const lines = job.summaryLines({ mode: 'iso', facts: { iso: '/vm/w-mergeide.iso', guest: 'w' } } as unknown as Parameters<typeof job.summaryLines>[0]);
    expect(lines[0]).toBe('ISO: /vm/w-mergeide.iso on this host, attached to w here as a CD-ROM.');
    const copy = lines.findIndex((l) => l.includes('copy the ISO there first'));
    const old = lines.findIndex((l) => l.includes('old hypervisor (or the old hardware)'));
    expect(copy).toBeGreaterThan(0);
    expect(copy).toBeLessThan(old);
  });

  it('plans the ISO: stage, build, check, place without overwrite, attach, clean up', () => {
    const plan = job.planMergeIdeIso({ guest: 'w', iso: '/vm/w-mergeide.iso', oldXml: '<domain/>', newXml: '<domain/>', stamp: 'S' });
    expect(plan.steps.map((s) => s.id)).toEqual(['stage', 'build-iso', 'check-iso', 'place', 'attach', 'cleanup']);
    expect(plan.steps[1]?.command?.argv).toEqual(['xorriso', '-as', 'mkisofs', '-quiet', '-J', '-R', '-V', 'MERGEIDE', '-o', '/vm/w-mergeide.iso.virtdeck-part-S', '/vm/w-mergeide.iso.virtdeck-stage-S']);
    expect(Object.keys(job.isoFiles())).toEqual(['mergeide.reg', 'mergeide.bat', 'README.txt']);
  });
});

describe('MergeIDE dry run shows what runs (issue 12 item 28)', async () => {
  const job = await import('../../src/jobs/mergeide.js');
  it('each merge step names its control set, and the guestfish upload script is shown line by line', () => {
    const XP64 = { product: 'Microsoft Windows Server 2003', major: 5, minor: 2, arch: 'i386' };
    const ATAPI_ADDED = { controlSet: 'ControlSet001', key: 'Services\\atapi', kind: 'key-added' as const };
    const facts = {
      guest: 'w2k3', disks: [{ path: '/vm/w.qcow2', format: 'qcow2' }], workdir: '/st/mergeide/w2k3-1', original: '/st/mergeide/w2k3-1/system.original',
      device: '/dev/sda1', hivePath: '/WINDOWS/system32/config/system', driversDir: null, os: XP64,
      controlSets: ['ControlSet001', 'ControlSet002'], current: 1, changes: [ATAPI_ADDED], drivers: [], virtioNote: null, stamp: 'S',
    };
    const lines = describePlan(job.planMergeIdeOffline(facts));
    const merges = lines.filter((l) => l.includes('hivexregedit --merge'));
    expect(merges).toHaveLength(2);
    expect(merges[0]).toContain('# merge 1 key and 0 values into ControlSet001');
    expect(merges[1]).toContain('# merge 0 keys and 0 values into ControlSet002');
    expect(lines).toContain('    | upload "/st/mergeide/w2k3-1/system.new" "/WINDOWS/system32/config/system"');
    expect(lines).toContain('    | upload "/st/mergeide/w2k3-1/system.original" "/WINDOWS/system32/config/system.virtdeck-backup-S"');
  });
  it('the review and the run count the same keys: a fresh hive gets every key and its parents (issue 12 item 16)', () => {
    const cs = 'ControlSet001';
    const changes = plannedChanges(MERGEIDE_KEYS, cs, []);
    const review = describeChanges(changes, [cs])[0] ?? '';
    const [, keys, values] = review.match(/^ControlSet001: (\d+) keys added, (\d+) values added or changed$/) ?? [];
    // More keys are added than MERGEIDE lists: their parents too.
    expect(Number(keys)).toBeGreaterThan(MERGEIDE_KEYS.length);
    const facts = {
      guest: 'w2k3', disks: [{ path: '/vm/w.qcow2', format: 'qcow2' }], workdir: '/st/m', original: '/st/m/system.original',
      device: '/dev/sda1', hivePath: '/WINDOWS/system32/config/system', driversDir: null, os: { product: 'Microsoft Windows Server 2003', major: 5, minor: 2, arch: 'i386' },
      controlSets: [cs], current: 1, changes, drivers: [], virtioNote: null, stamp: 'S',
    };
    const titles = job.planMergeIdeOffline(facts).steps.map((s) => s.title);
    expect(titles).toContain(`merge ${keys} keys and ${values} values into ControlSet001 (parents first)`);
  });
});
