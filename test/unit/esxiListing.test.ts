import { describe, expect, it } from 'vitest';
import { type EsxiListing, listingSections, parseEsxiListing, parseGetAllVms, parsePowerState, pickVm, plainSegment, powerLabel, poweredOnRefusal } from '../../src/model/esxiListing.js';

const ROOT = '/vmfs/volumes';
const UUID = '5f1e2d3c-4b5a6978-0a1b-000c29aabbcc';

/** The listing script's answer as an ESXi 7 host gives it: vim-cmd present, one datastore link. */
const ESXI_ANSWER = [
  '@@vms',
  'Vmid     Name                File                      Guest OS          Version   Annotation',
  '1      web01      [datastore1] web01/web01.vmx      debian10_64Guest    vmx-13    ',
  '3      Win 11     [datastore1] win11/win11.vmx      windows9_64Guest    vmx-19    Finance desktop',
  '7      db         [datastore1] db/db.vmx            otherGuest          vmx-13    ',
  '@@power',
  '1\tPowered off',
  '3\tPowered on',
  '7\tSuspended',
  '@@stores',
  `D\t${UUID}`,
  `L\tdatastore1\t${UUID}`,
  '@@vmx',
  // Found through the name link and the UUID directory: listed once.
  `0\t${ROOT}/datastore1/web01/web01.vmx`,
  `0\t${ROOT}/${UUID}/web01/web01.vmx`,
  `1\t${ROOT}/datastore1/win11/win11.vmx`,
  `0\t${ROOT}/datastore1/db/db.vmx`,
  // Not registered with vim-cmd: only the lock tells.
  `1\t${ROOT}/datastore1/copied/copied.vmx`,
  `0\t${ROOT}/datastore1/spare/spare.vmx`,
  '@@end',
  '',
].join('\n');

describe('ESXi VM listing', () => {
  it('reads each VM once, with its vim-cmd name and power state, by datastore name', () => {
    const l = parseEsxiListing(ESXI_ANSWER, ROOT);
    expect(l.vimCmd).toBe(true);
    expect(l.datastores.get('datastore1')).toBe(UUID);
    expect(l.vms.map((v) => [v.name, v.power, v.powerFrom, v.vmid, v.datastore])).toEqual([
      ['copied', 'on', 'lock', null, 'datastore1'],
      ['db', 'suspended', 'vim-cmd', 7, 'datastore1'],
      ['spare', 'off', 'lock', null, 'datastore1'],
      ['web01', 'off', 'vim-cmd', 1, 'datastore1'],
      ['Win 11', 'on', 'vim-cmd', 3, 'datastore1'],
    ]);
    expect(l.vms.find((v) => v.name === 'web01')?.vmx).toBe(`${ROOT}/datastore1/web01/web01.vmx`);
  });

  it('falls back to the .lck lock without vim-cmd', () => {
    const l = parseEsxiListing(['@@stores', 'D\tlocal', '@@vmx', `1\t${ROOT}/local/a/a.vmx`, `0\t${ROOT}/local/b/b.vmx`, '@@end'].join('\n'), ROOT);
    expect(l.vimCmd).toBe(false);
    expect(l.vms.map((v) => [v.name, v.power, v.powerFrom])).toEqual([
      ['a', 'on', 'lock'],
      ['b', 'off', 'lock'],
    ]);
    expect(powerLabel(l.vms[0] as (typeof l.vms)[number])).toBe('locked (.lck)');
    expect(powerLabel(l.vms[1] as (typeof l.vms)[number])).toBe('no lock');
  });

  it('leaves out paths that are not ROOT/DATASTORE/DIR/NAME.vmx or carry .. or control characters', () => {
    const hostile = [
      '@@vmx',
      `0\t${ROOT}/ds/../../etc/passwd.vmx`,
      `0\t${ROOT}/ds/..\u0000/x.vmx`,
      `0\t${ROOT}/ds/a\u001b[2J/a.vmx`,
      `0\t${ROOT}/ds/deep/er/x.vmx`,
      `0\t${ROOT}/ds/x.vmx`,
      '0\t/etc/ssh/x.vmx',
      `0\t${ROOT}/ds/notvmx/x.txt`,
      'no tab at all',
      `0\t${ROOT}/ds/ok/ok.vmx`,
      '@@end',
    ].join('\n');
    expect(parseEsxiListing(hostile, ROOT).vms.map((v) => v.vmx)).toEqual([`${ROOT}/ds/ok/ok.vmx`]);
  });

  it('refuses an answer that was cut short', () => {
    expect(() => parseEsxiListing('@@stores\nD\tds\n@@vmx\n0\t/vmfs/volumes/ds/a/a.vmx\n', ROOT)).toThrow(/cut short/);
  });

  it('splits sections and checks path segments', () => {
    expect([...listingSections('junk\n@@a\n1\n@@b\n@@c\n2\n3').entries()]).toEqual([
      ['a', ['1']],
      ['b', []],
      ['c', ['2', '3']],
    ]);
    for (const bad of ['', '.', '..', 'a/b', 'a\nb', 'a\u007f']) expect(plainSegment(bad), JSON.stringify(bad)).toBe(false);
    expect(plainSegment('My VM (1)')).toBe(true);
  });
});

describe('power state', () => {
  it('reads vim-cmd power.getstate', () => {
    expect(parsePowerState('Retrieved runtime info\nPowered on')).toBe('on');
    expect(parsePowerState('Powered off\n')).toBe('off');
    expect(parsePowerState('Suspended')).toBe('suspended');
    expect(parsePowerState('(vim.fault.NotFound) {')).toBe('unknown');
    expect(parsePowerState('')).toBe('unknown');
  });

  it('reads getallvms rows with spaces in names and annotations, dropping paths outside one directory', () => {
    const rows = parseGetAllVms(
      [
        'Vmid  Name  File  Guest OS  Version  Annotation',
        '12   My VM   [ds 1] My VM/My VM.vmx   otherGuest   vmx-13   a note [x] y.vmx',
        '13   evil   [ds1] ../../etc/x.vmx   otherGuest   vmx-13',
        '14   deep   [ds1] a/b/c.vmx   otherGuest   vmx-13',
      ],
      ROOT,
    );
    expect(rows).toEqual([{ vmid: 12, name: 'My VM', vmx: `${ROOT}/ds 1/My VM/My VM.vmx` }]);
  });

  it('refuses a powered-on, suspended or locked VM in one sentence with its fix; a powered-off one passes', () => {
    const l = parseEsxiListing(ESXI_ANSWER, ROOT);
    const vm = (name: string) => l.vms.find((v) => v.name === name) as EsxiListing['vms'][number];
    expect(poweredOnRefusal(vm('web01'), 'root@esx')).toBeNull();
    expect(poweredOnRefusal(vm('spare'), 'root@esx')).toBeNull();
    const on = poweredOnRefusal(vm('Win 11'), 'root@esx');
    expect(on?.sentence).toBe('Win 11 is powered on on root@esx, so its disks change while they are read.');
    expect(on?.fix).toContain('vim-cmd vmsvc/power.shutdown 3');
    expect(poweredOnRefusal(vm('db'), 'root@esx')?.sentence).toMatch(/db is suspended/);
    expect(poweredOnRefusal(vm('copied'), 'root@esx')?.sentence).toMatch(/copied on root@esx is open: a \.lck lock is beside/);
  });
});

describe('--vm', () => {
  const l = parseEsxiListing(ESXI_ANSWER, ROOT);
  it('finds a VM by name, directory, DATASTORE/DIR/NAME.vmx or full path', () => {
    expect(pickVm(l, 'Win 11', 'h').vmid).toBe(3);
    expect(pickVm(l, 'win11', 'h').vmid).toBe(3);
    expect(pickVm(l, 'datastore1/db/db.vmx', 'h').vmid).toBe(7);
    expect(pickVm(l, `${ROOT}/datastore1/web01/web01.vmx`, 'h').vmid).toBe(1);
  });
  it('refuses a name it does not know, naming some it does', () => {
    expect(() => pickVm(l, 'nope', 'root@esx')).toThrow('root@esx has no VM "nope" under /vmfs/volumes.');
  });
});
