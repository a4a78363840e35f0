import { afterEach, describe, expect, it } from 'vitest';
import type { EsxiTarget } from '../../src/jobs/importEsxi.js';
import type { PreparedImport } from '../../src/jobs/importVmware.js';
import type { RunResult } from '../../src/jobs/runner.js';
import { type EsxiVm, parseEsxiListing } from '../../src/model/esxiListing.js';
import { esxiDisk, parseVmDirDump } from '../../src/model/esxiVmDir.js';
import { type EsxiImportFacts, esxiRefusals, esxiRequest, factsForRequest, planEsxiImport } from '../../src/model/importEsxiPlan.js';
import { checkImport, type ImportRequest } from '../../src/model/importVmwarePlan.js';
import { parseVmx } from '../../src/model/vmx.js';
import { createImportWizard, type ImportJobs } from '../../src/store/wizards/import/importWizard.js';
import { chooseTheme } from '../../src/ui/theme.js';
import { ImportVmwareWizardView } from '../../src/ui/wizards/ImportVmwareWizard.js';
import { deltaDescriptor, flatDescriptor, vmxText } from '../helpers/esxiStandIn.js';
import { createFakeHost } from '../helpers/fakeHost.js';
import { driveWizard } from './wizardHarness.js';

const ROOT = '/vmfs/volumes';
const UUID = '5f1e2d3c-4b5a6978-0a1b-000c29aabbcc';
const SECTORS = 16384;

/** What the listing script answers on an ESXi 7 host with 14 VMs: more than one page of the list. */
function hostAnswer(): string {
  const names = ['web01', 'Windows 11 finance desktop with a long name', 'db', ...Array.from({ length: 11 }, (_, i) => `lab${String(i).padStart(2, '0')}`)];
  const getall = names.map((n, i) => `${i + 1}   ${n}   [datastore1] ${n}/${n}.vmx   otherGuest   vmx-13   `);
  const power = names.map((n, i) => `${i + 1}\t${n === 'db' ? 'Powered on' : n.startsWith('Windows') ? 'Suspended' : 'Powered off'}`);
  return [
    '@@vms',
    'Vmid  Name  File  Guest OS  Version  Annotation',
    ...getall,
    '@@power',
    ...power,
    '@@stores',
    `D\t${UUID}`,
    `L\tdatastore1\t${UUID}`,
    '@@vmx',
    ...names.map((n) => `0\t${ROOT}/datastore1/${n}/${n}.vmx`),
    // Copied in by hand, not registered: the lock is all there is.
    `1\t${ROOT}/datastore1/copied/copied.vmx`,
    '@@end',
  ].join('\n');
}

/** web01 as the directory read over ssh gives it: flat base + one delta snapshot. */
function web01Facts(target: EsxiTarget, vm: EsxiVm): EsxiImportFacts {
  const dir = `${ROOT}/datastore1/web01`;
  const files: Record<string, string> = { 'web01.vmx': vmxText('web01', 'web01-000001.vmdk'), 'web01.vmdk': flatDescriptor('web01', SECTORS), 'web01-000001.vmdk': deltaDescriptor('web01', SECTORS) };
  const ls = `f\t${SECTORS * 512}\tweb01-flat.vmdk\nf\t9000\tweb01-000001-delta.vmdk\n${Object.entries(files)
    .map(([n, t]) => `f\t${t.length}\t${n}\n`)
    .join('')}`;
  const body = Object.entries(files)
    .map(([n, t]) => `@@file\t${Buffer.byteLength(t)}\t${n}\n${t}\n`)
    .join('');
  const dump = parseVmDirDump(Buffer.from(`@@ls\n${ls}${body}@@end\n`), dir);
  const guest = parseVmx(files['web01.vmx'] as string, { resolveFile: (n) => (n.startsWith('/') ? n : `${dir}/${n}`) });
  const names = { root: ROOT, datastores: ['datastore1', UUID], dirName: 'web01' };
  return {
    vmxPath: vm.vmx,
    guest,
    disks: [],
    locks: [],
    existingGuests: [],
    existingDest: [],
    bridges: ['br0'],
    networks: [],
    domainType: 'qemu',
    esxi: { destination: target.destination, ssh: ['ssh', '--', target.destination], vm, dir, disks: [esxiDisk('scsi0:0', 'web01-000001.vmdk', dump, names)] },
  };
}

function scriptedJobs() {
  const calls = { targets: [] as EsxiTarget[], inspected: [] as string[], requests: [] as ImportRequest[], ran: [] as PreparedImport[] };
  const jobs: ImportJobs = {
    inspect: async () => {
      throw new Error('no local file is read');
    },
    listEsxi: async (target) => {
      calls.targets.push(target);
      return parseEsxiListing(hostAnswer(), ROOT);
    },
    inspectEsxi: async (_h, target, vm) => {
      calls.inspected.push(vm.name);
      return web01Facts(target, vm);
    },
    prepare: async (_h, _p, reqIn, _s, f) => {
      const req = esxiRequest(reqIn);
      calls.requests.push(req);
      const facts = factsForRequest(f as EsxiImportFacts, req);
      const check = checkImport(facts, req);
      check.refusals.unshift(...esxiRefusals(req));
      const plan = check.refusals.length ? undefined : planEsxiImport(facts, req, { uri: 'qemu:///system', xmlFile: '/tmp/x/domain.xml' });
      return { facts, request: req, check, plan };
    },
    run: async (_h, prepared, o) => {
      calls.ran.push(prepared);
      prepared.plan?.steps.forEach((step, index) => {
        o.onEvent?.({ type: 'step-start', index, step });
        o.onEvent?.({ type: 'step-end', index, step });
      });
      return { state: 'done', journal: { path: '/tmp/j' } } as unknown as RunResult;
    },
  };
  return { jobs, calls };
}

function renderWizard(jobs: ImportJobs, closed: (string | null)[]) {
  const fake = createFakeHost([]);
  // The Linux console: no colour, ASCII glyphs.
  const theme = chooseTheme({ TERM: 'linux', NO_COLOR: '1' });
  const store = createImportWizard({ host: fake.host, jobs, width: 80, startDir: '/', pickedDirs: { last: () => null, remember: () => {} }, onClose: (d) => closed.push(d) });
  const w = driveWizard(store, <ImportVmwareWizardView store={store} theme={theme} width={80} />);
  return { ...w, store };
}

function fits80x24(frame: string, glyphs = false): void {
  const lines = frame.split('\n');
  expect(lines.length).toBeLessThanOrEqual(24);
  for (const l of lines) expect(l.length, l).toBeLessThanOrEqual(80);
  // The VM list draws ASCII glyphs only (the key hints are the router's own).
  if (glyphs) expect(frame).not.toMatch(/[▶…✓⚠✗]/);
}

let cleanup: (() => void) | null = null;
afterEach(() => {
  cleanup?.();
  cleanup = null;
});

/** Step 1 → ESXi host over SSH; step 2: the host typed, Enter lists its VMs. */
async function toVmList(w: ReturnType<typeof renderWizard>, host = 'root@esxi1') {
  await w.waitFor('What do you have');
  w.key('right');
  w.key('right');
  await w.waitFor('ESXi host over SSH');
  w.key('enter');
  const f = await w.waitFor('step 2 of 7');
  expect(f).toContain('ESXi host');
  for (let i = 0; i < 'root@'.length; i++) w.key('backspace');
  w.type(host);
  w.key('down');
  w.type('2222');
  w.key('down');
  w.type('/root/.ssh/esxi_ed25519');
  w.key('enter');
}

describe('Import wizard from an ESXi host (issue 14 item 2)', () => {
  it('lists the VMs with their power state at 80x24 on the Linux console, pages through them, imports a powered-off one', async () => {
    const { jobs, calls } = scriptedJobs();
    const closed: (string | null)[] = [];
    const w = renderWizard(jobs, closed);
    cleanup = () => w.r.unmount();
    await toVmList(w);
    let f = await w.waitFor('Pick the VM');
    expect(calls.targets).toEqual([{ destination: 'root@esxi1', port: 2222, identityFile: '/root/.ssh/esxi_ed25519' }]);
    fits80x24(f, true);
    expect(f).toContain('step 3 of 7');
    expect(f).toContain('15 VMs on root@esxi1');
    expect(f).toMatch(/> copied +locked \(\.lck\) +datastore1\/copied/);
    expect(f).toMatch(/ db +powered on +datastore1\/db/);
    expect(f).toMatch(/ lab00 +powered off +datastore1\/lab00/);
    expect(f).not.toContain('web01');
    // Two pages down reach the end of the list; web01 is the one before last.
    w.key('pagedown');
    w.key('pagedown');
    f = await w.waitFor('> Windows 11');
    fits80x24(f, true);
    expect(f).toMatch(/> Windows 11 finance desk~ {2}suspended {6}datastore1\/Windows 11 finance de~ \|/);
    w.key('up');
    f = await w.waitFor('> web01');
    expect(f).toMatch(/> web01 +powered off +datastore1\/web01/);
    expect(w.state().vmCursor).toBe(13);
    w.key('enter');
    f = await w.waitFor('What was read');
    expect(calls.inspected).toEqual(['web01']);
    expect(f).toContain('(snapshot 1 deep)');
    expect(f).toMatch(/on root@esxi1: \/vmfs\/volumes\/datastore1\/web01, 2 data files to copy/);
    fits80x24(f);
    w.key('enter');
    f = await w.waitFor('Disks, name and bus');
    expect(f).toContain('copy and convert to qcow2');
    expect(f).toContain('empty: /var/lib/libvirt/images');
    w.key('enter');
    await w.waitFor('Network cards');
    w.key('enter');
    f = await w.waitFor('Review');
    fits80x24(f);
    expect(f).toContain('copy from root@esxi1:/vmfs/volumes/datastore1/web01 (web01, powered off):');
    expect(calls.requests.at(-1)).toMatchObject({ convert: 'qcow2', destDir: '/var/lib/libvirt/images', name: 'web01' });
    w.key('enter');
    await w.waitFor('web01 is defined');
    expect(calls.ran).toHaveLength(1);
    expect(calls.ran[0]?.plan?.steps.map((s) => s.id).slice(0, 3)).toEqual(['esxi-stage', 'esxi-copy0', 'esxi-copy1']);
    w.key('enter');
    expect(closed).toEqual(['web01']);
  });

  it('refuses a powered-on, suspended or locked VM on the list in one sentence, reading nothing', async () => {
    const { jobs, calls } = scriptedJobs();
    const closed: (string | null)[] = [];
    const w = renderWizard(jobs, closed);
    cleanup = () => w.r.unmount();
    await toVmList(w);
    await w.waitFor('Pick the VM');
    w.key('enter'); // copied: locked
    let f = await w.waitFor('is open: a .lck lock');
    fits80x24(f);
    w.key('j'); // db: powered on
    w.key('enter');
    f = await w.waitFor('db is powered on on root@esxi1');
    expect(f).toContain('vim-cmd vmsvc/power.shutdown 3');
    w.key('down'); // lab00
    w.key('k'); // back on db
    expect(w.state()).toMatchObject({ step: 'vm', vmCursor: 1, problem: null });
    expect(calls.inspected).toEqual([]);
    // Esc goes back to the host, which keeps what was typed.
    w.key('esc');
    f = await w.waitFor('step 2 of 7');
    expect(w.state().esxiHost.fields.map((x) => x.value)).toEqual(['root@esxi1', '2222', '/root/.ssh/esxi_ed25519']);
    w.key('ctrl-c');
    expect(closed).toEqual([null]);
    expect(calls.ran).toHaveLength(0);
  });

  it('refuses a host, port or key that is not one on its field, without logging in', async () => {
    const { jobs, calls } = scriptedJobs();
    const w = renderWizard(jobs, []);
    cleanup = () => w.r.unmount();
    await toVmList(w, '-oProxyCommand=x');
    let f = await w.waitFor('begins with "-"');
    expect(w.state().problem?.field).toBe('host');
    for (let i = 0; i < 40; i++) w.key('backspace');
    w.type('esxi1');
    w.key('down');
    w.type('x');
    w.key('enter');
    f = await w.waitFor('is not a port');
    expect(f).toContain('2222x is not a port');
    expect(calls.targets).toEqual([]);
  });

  it('says why the listing failed in one sentence and stays on the host step', async () => {
    const { jobs } = scriptedJobs();
    const { UserError } = await import('../../src/model/userError.js');
    jobs.listEsxi = async () => {
      throw new UserError('root@esxi1 (port 2222) refused the login.', 'Put your public key into /etc/ssh/keys-root/authorized_keys on the ESXi host.');
    };
    const w = renderWizard(jobs, []);
    cleanup = () => w.r.unmount();
    await toVmList(w);
    const f = await w.waitFor('refused the login');
    expect(f).toContain('keys-root/authorized_keys');
    expect(w.state().step).toBe('host');
  });
});
