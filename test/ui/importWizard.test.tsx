import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import type { Launched } from '../../src/jobs/detached.js';
import { handOverOf } from '../../src/jobs/handOver.js';
import type { PreparedImport } from '../../src/jobs/importVmware.js';
import type { Journal } from '../../src/jobs/journal.js';
import type { RunResult } from '../../src/jobs/runner.js';
import { factsForRequest, type OvaImportFacts, ovaRefusals, planOvaImport } from '../../src/model/importOvaPlan.js';
import { checkImport, type ImportFacts, type ImportRequest, planImport, plannedDestFiles } from '../../src/model/importVmwarePlan.js';
import { parseOvf } from '../../src/model/ovf.js';
import { parseVmx } from '../../src/model/vmx.js';
import type { JobControllerOptions } from '../../src/store/jobs/jobController.js';
import { createImportWizard, IMPORT_ROWS, type ImportJobs } from '../../src/store/wizards/import/importWizard.js';
import { chooseTheme } from '../../src/ui/theme.js';
import { ImportVmwareWizardView } from '../../src/ui/wizards/ImportVmwareWizard.js';
import { createFakeHost } from '../helpers/fakeHost.js';
import { ESC, renderApp } from './helpers.js';
import { driveWizard } from './wizardHarness.js';

const VMX = `displayName = "w2k3"
guestOS = "winNetStandard"
memsize = "512"
uuid.bios = "56 4d b5 06 a2 bd fb eb-ae 86 f7 d8 49 27 d0 c4"
scsi0.present = "TRUE"
scsi0.virtualDev = "lsilogic"
scsi0:0.present = "TRUE"
scsi0:0.fileName = "w2k3.vmdk"
ethernet0.present = "TRUE"
ethernet0.virtualDev = "e1000"
ethernet0.addressType = "static"
ethernet0.address = "00:50:56:01:02:03"
tools.syncTime = "FALSE"
`;

/** Scripted jobs: the facts a real inspection of /vm/w2k3 would give; plan and check are the real pure ones. */
function scriptedJobs(opts: { locked?: boolean; hold?: boolean; existing?: string[] } = {}) {
  const calls: { ran: PreparedImport[]; requests: ImportRequest[] } = { ran: [], requests: [] };
  const facts = (vmxPath: string): ImportFacts => {
    const guest = parseVmx(VMX, { resolveFile: (n) => `/vm/w2k3/${n}` });
    const desc = { version: 1, cid: 1, parentCid: 0xffffffff, createType: 'monolithicSparse', extents: [], ddb: {}, parentFileNameHint: null };
    return {
      vmxPath,
      guest,
      disks: [{ key: 'scsi0:0', chain: { active: '/vm/w2k3/w2k3.vmdk', links: [{ path: '/vm/w2k3/w2k3.vmdk', descriptor: desc }], snapshot: false, warnings: [] }, virtualSize: 8 << 20, unused: [] }],
      locks: opts.locked ? ['/vm/w2k3/w2k3.vmx.lck'] : [],
      existingGuests: opts.existing ?? [],
      existingDest: [],
      bridges: ['br0'],
      networks: [],
      domainType: 'qemu',
    };
  };
  const jobs: ImportJobs = {
    inspect: async (_h, path) => facts(path),
    prepare: async (_h, _p, req, _s, f) => {
      calls.requests.push(req);
      const withDest = { ...f, existingDest: plannedDestFiles(f, req).filter(() => false) };
      const check = checkImport(withDest, req);
      const plan = check.refusals.length ? undefined : planImport(withDest, req, { uri: 'qemu:///system', xmlFile: '/tmp/x/domain.xml' });
      return { facts: withDest, request: req, check, plan };
    },
    run: async (_h, prepared, o) => {
      calls.ran.push(prepared);
      if (opts.hold) {
        // Journaled as runPlan does it: from here on b may hand the job to a worker.
        o.onEvent?.({ type: 'journal', path: '/tmp/j' });
        // The first step runs until the wizard cancels the job.
        const first = prepared.plan?.steps[0];
        if (first) o.onEvent?.({ type: 'step-start', index: 0, step: first });
        await new Promise((resolve) => o.signal?.addEventListener('abort', resolve));
        // The runner's side of b (runner.ts handTo): the journal goes to the worker, nothing is undone.
        const handOver = handOverOf(o.signal);
        if (handOver) {
          const journal = { path: '/tmp/j', record: { id: 'job-import' } } as unknown as Journal;
          return { state: 'running', journal, worker: await handOver.start(journal) } as unknown as RunResult;
        }
        return { state: 'cancelled', journal: { path: '/tmp/j' } } as unknown as RunResult;
      }
      prepared.plan?.steps.forEach((step, index) => {
        o.onEvent?.({ type: 'step-start', index, step });
        o.onEvent?.({ type: 'step-end', index, step });
      });
      return { state: 'done', journal: { path: '/tmp/j' } } as unknown as RunResult;
    },
  };
  return { jobs, calls };
}

function renderWizard(jobs: ImportJobs, closed: (string | null)[], jobScreen?: JobControllerOptions) {
  const fake = createFakeHost([], { dirs: { '/': ['vm/', 'etc/'], '/vm': ['w2k3/'], '/vm/w2k3': ['w2k3.vmx', 'w2k3.vmdk', 'w2k3.nvram'] } });
  const theme = chooseTheme({ LANG: 'C.UTF-8', TERM: 'xterm-256color', NO_COLOR: '1' });
  // Never the real state directory: a pick is remembered nowhere.
  const store = createImportWizard({ host: fake.host, jobs, startDir: '/', pickedDirs: { last: () => null, remember: () => {} }, onClose: (d) => closed.push(d), jobScreen });
  const w = driveWizard(store, <ImportVmwareWizardView store={store} theme={theme} />);
  return { ...w, store, fake };
}

/** The frame's text as one line: the wizard is drawn in a bordered frame, and wrapped text crosses its edges. */
const unframed = (f: string) => f.replace(/[│┌┐└┘─]/g, ' ').replace(/\s+/g, ' ');

let cleanup: (() => void) | null = null;
afterEach(() => {
  cleanup?.();
  cleanup = null;
});

/** Step 1 asks what you have (issue 14: .vmx or OVA/OVF); Enter keeps .vmx. */
async function chooseVmx(w: ReturnType<typeof renderWizard>): Promise<void> {
  await w.waitFor('What do you have');
  w.key('enter');
}

/** Through the file browser to the .vmx and open it: vm/ → w2k3/ → w2k3.vmx. */
async function pickVmx(w: ReturnType<typeof renderWizard>): Promise<void> {
  await chooseVmx(w);
  await w.waitFor('vm/');
  // Directories first: etc/ then vm/ (the list is sorted), so one down.
  w.key('down');
  w.key('enter');
  await w.waitFor('w2k3/');
  w.key('down');
  w.key('enter');
  await w.waitFor('w2k3.vmx');
  w.key('down'); // w2k3.nvram (not pickable)
  w.key('down'); // w2k3.vmdk
  w.key('down'); // w2k3.vmx
  w.key('enter');
}

/** From the file browser to the network step: the .vmx, then Enter through the facts and disks. */
async function toNetworkCards(w: ReturnType<typeof renderWizard>): Promise<void> {
  await pickVmx(w);
  await w.waitFor('What was read');
  w.key('enter');
  await w.waitFor('Disks, name and bus');
  w.key('enter');
  await w.waitFor('Network cards');
}

describe('Import VMware wizard', () => {
  it('browses to the .vmx, shows what was read and ignored, maps the NIC, reviews, imports', async () => {
    const { jobs, calls } = scriptedJobs();
    const closed: (string | null)[] = [];
    const w = renderWizard(jobs, closed);
    cleanup = () => w.r.unmount();
    await pickVmx(w);
    let f = await w.waitFor('What was read');
    expect(f).toContain('scsi0:0  disk   scsi lsilogic  /vm/w2k3/w2k3.vmdk');
    expect(f).toContain('ethernet0 00:50:56:01:02:03 static');
    expect(f).toContain('ignored: tools.syncTime = FALSE');
    w.key('enter');
    f = await w.waitFor('Disks, name and bus');
    expect(f).toContain('run the vmdk files as they are');
    // Back and forward again keeps the form.
    w.key('esc');
    await w.waitFor('What was read');
    w.key('enter');
    await w.waitFor('Disks, name and bus');
    w.key('down'); // Disks choice
    w.key('right'); // → convert to qcow2
    f = await w.waitFor('convert to qcow2');
    expect(w.state().disks?.fields.find((x) => x.id === 'convert')?.value).toBe('qcow2');
    w.key('enter');
    f = await w.waitFor('Network cards');
    expect(f).toContain('bridge br0');
    expect(unframed(f)).toMatch(/keeps its MAC from the \.vmx: Windows ties its IP settings to the MAC/);
    w.key('enter');
    f = await w.waitFor('Review');
    expect(f).toContain('qemu-img convert');
    expect(calls.requests.at(-1)).toMatchObject({ convert: 'qcow2', bus: 'keep', nics: [{ kind: 'bridge', source: 'br0' }], name: 'w2k3' });
    // The XML is further down: scroll to it.
    const mac = "<mac address='00:50:56:01:02:03'/>";
    // Keys act on the store at once: scroll until the store's page shows it, then the frame must too.
    const onPage = (text: string) => w.state().lines.slice(w.state().scroll, w.state().scroll + IMPORT_ROWS).some((l) => l.text.includes(text));
    for (let i = 0; i < 60 && !onPage(mac); i++) w.key('down');
    await w.waitFor(mac);
    w.key('down');
    await w.waitFor("<source bridge='br0'/>");
    w.key('enter');
    await w.waitFor('w2k3 is defined');
    expect(calls.ran).toHaveLength(1);
    w.key('enter');
    expect(closed).toEqual(['w2k3']);
  });

  it('issue 14 item 4: the disk options offer the fix-up on converted disks; the review says which runs and why', async () => {
    const { jobs, calls } = scriptedJobs();
    const w = renderWizard(jobs, []);
    cleanup = () => w.r.unmount();
    await pickVmx(w);
    await w.waitFor('What was read');
    w.key('enter');
    await w.waitFor('Disks, name and bus');
    const disks = () => w.state().disks;
    const focused = () => disks()?.fields[disks()?.focus ?? 0]?.id;
    // With the vmdk files used in place there is nothing to fix up: the field is not offered.
    const seen: (string | undefined)[] = [];
    for (let i = 0; i < 8 && focused() !== 'start'; i++) {
      w.key('down');
      seen.push(focused());
    }
    expect(seen).not.toContain('fixup');
    expect(focused()).toBe('start');
    for (let i = 0; i < 8 && focused() !== 'convert'; i++) w.key('up');
    w.key('right'); // convert to qcow2
    for (let i = 0; i < 8 && focused() !== 'fixup'; i++) w.key('down');
    expect(focused()).toBe('fixup');
    await w.waitFor('Fix-up');
    w.key('right'); // none → auto
    expect(disks()?.fields.find((f) => f.id === 'fixup')?.value).toBe('auto');
    w.key('enter');
    await w.waitFor('Network cards');
    w.key('enter');
    await w.waitFor('Review');
    expect(calls.requests.at(-1)).toMatchObject({ convert: 'qcow2', fixup: 'auto' });
    // Windows Server 2003 without virt-v2v (the facts have no tools): MergeIDE on IDE disks, said why.
    const review = w.state().lines.map((l) => l.text).join(' ');
    expect(review).toMatch(/^Fix-up: mergeide: MergeIDE chosen because virt-v2v-in-place is not installed/);
    expect(review).toContain("MergeIDE on w2k3's copied disks, offline, before its first start");
  });

  it('refuses on the last form step while VMware holds a lock, and Esc/Ctrl-C leave without importing', async () => {
    const { jobs, calls } = scriptedJobs({ locked: true });
    const closed: (string | null)[] = [];
    const w = renderWizard(jobs, closed);
    cleanup = () => w.r.unmount();
    await toNetworkCards(w);
    w.key('enter');
    const f = await w.waitFor('VMware has this VM open');
    expect(f).toContain('delete the .lck directories');
    expect(f).toContain('Network cards'); // stays on the step
    expect(w.state()).toMatchObject({ step: 'nics', problem: { sentence: expect.stringContaining('VMware has this VM open') } });
    w.key('ctrl-c');
    expect(closed).toEqual([null]);
    expect(calls.ran).toHaveLength(0);
  });

  it('a refusal naming a field goes back to the step of that field and focuses it', async () => {
    const { jobs, calls } = scriptedJobs({ existing: ['w2k3'] });
    const closed: (string | null)[] = [];
    const w = renderWizard(jobs, closed);
    cleanup = () => w.r.unmount();
    await toNetworkCards(w);
    w.key('enter');
    const f = await w.waitFor('A guest named w2k3 already exists.');
    expect(f).toContain('Disks, name and bus');
    const disks = w.state().disks;
    expect(w.state().step).toBe('disks');
    expect(disks?.error?.field).toBe('name');
    expect(disks?.fields[disks.focus]?.id).toBe('name');
    // Typing fixes the name where the focus is; Enter goes on again and the import is reviewed.
    w.type('-kvm');
    w.key('enter');
    await w.waitFor('Network cards');
    w.key('enter');
    await w.waitFor('Review');
    expect(calls.requests.at(-1)?.name).toBe('w2k3-kvm');
  });

  it('asks before cancelling a running import: n keeps it going, y cancels; q closes the result', async () => {
    const { jobs, calls } = scriptedJobs({ hold: true });
    const closed: (string | null)[] = [];
    const w = renderWizard(jobs, closed);
    cleanup = () => w.r.unmount();
    await toNetworkCards(w);
    w.key('enter');
    await w.waitFor('Review');
    w.key('enter');
    await w.waitFor('Esc/Ctrl-C cancel');
    w.key('ctrl-c');
    expect(w.state().jobs.view()?.asking).toBe(true);
    const asked = await w.waitFor('Cancel the import?');
    expect(unframed(asked)).toContain('Finished steps are undone (the guest undefined); the .vmx and its disks are kept. (y/n)');
    expect(asked).toContain('y cancel the import   n keep going');
    w.key('n');
    const going = await w.waitFor((f) => !f.includes('Cancel the import?'));
    expect(going).toContain('Esc/Ctrl-C cancel');
    expect(calls.ran[0]?.plan).toBeDefined();
    w.key('esc');
    await w.waitFor('Cancel the import?');
    w.key('y');
    await w.waitFor('The import was cancelled');
    expect(w.state().result?.ok).toBe(false);
    w.key('q');
    expect(closed).toEqual([null]);
  });

  it('issue 13 item 4: b hands the running import to a worker; q asks first and b there quits after the hand-over', async () => {
    const { jobs } = scriptedJobs({ hold: true });
    const closed: (string | null)[] = [];
    const handed: string[] = [];
    let quits = 0;
    const handOver = async (j: Journal): Promise<Launched> => {
      handed.push(j.record.id);
      return { id: j.record.id, pid: 4243, journalPath: j.path, logPath: '/x', via: 'setsid' };
    };
    const w = renderWizard(jobs, closed, { handOver, quit: () => quits++ });
    cleanup = () => w.r.unmount();
    await toNetworkCards(w);
    w.key('enter');
    await w.waitFor('Review');
    w.key('enter');
    await w.waitFor('b background');
    w.key('q');
    expect(await w.waitFor('Quit while the import runs?')).toContain('w wait, then quit');
    w.key('b');
    await w.waitFor('goes on in a worker (pid 4243)');
    await w.until(() => quits === 1);
    expect(handed).toEqual(['job-import']);
    expect(w.state().result).toBeNull();
    w.key('enter');
    expect(closed).toEqual([null]);
  });

  it('Esc on the first step closes the wizard; Esc on the file browser goes back to it', async () => {
    const closed: (string | null)[] = [];
    const w = renderWizard(scriptedJobs().jobs, closed);
    cleanup = () => w.r.unmount();
    await chooseVmx(w);
    await w.waitFor('vm/');
    w.key('esc');
    await w.waitFor('What do you have');
    expect(closed).toEqual([]);
    w.key('esc');
    expect(closed).toEqual([null]);
  });

  it('the .vmx can be typed: Tab completes like a shell, and every refusal says why in one sentence', async () => {
    const fake = createFakeHost([], {
      dirs: { '/': ['vm/', 'etc/'], '/vm': ['w2k3/', 'win7/'], '/vm/w2k3': ['w2k3.vmx', 'w2k3.vmdk', 'notes.txt', 'locked.vmx'], '/vm/win7': [] },
      unreadable: ['/vm/w2k3/locked.vmx'],
    });
    const remembered: string[] = [];
    const store = createImportWizard({ host: fake.host, jobs: scriptedJobs().jobs, pickedDirs: { last: () => null, remember: (d) => remembered.push(d) }, onClose: () => {} });
    const theme = chooseTheme({ LANG: 'C.UTF-8', TERM: 'xterm-256color', NO_COLOR: '1' });
    const w = driveWizard(store, <ImportVmwareWizardView store={store} theme={theme} />);
    cleanup = () => w.r.unmount();
    // A remote or fake host has no working directory of ours: the pick starts at /.
    await w.until((s) => s.files.dir === '/' && s.files.entries !== null);
    await w.waitFor('What do you have');
    w.key('enter');
    let f = await w.waitFor('Import a VMware VM · step 2 of 6 · Pick the');
    expect(f).toMatch(/Path\s+\[\/ *\]/);
    const field = () => w.state().files.path.fields[0]?.value;
    w.type('/v');
    w.key('tab');
    await w.until((s) => s.files.dir === '/vm' && s.files.entries !== null);
    expect(field()).toBe('/vm/');
    // Ambiguous: nothing to add, so the names that fit are listed.
    w.type('w');
    w.key('tab');
    f = await w.waitFor('2 names start with "w"');
    expect(f).toContain('w2k3/');
    expect(f).toContain('win7/');
    expect(f).not.toContain('..');
    w.type('2');
    w.key('tab');
    await w.until((s) => s.files.dir === '/vm/w2k3' && s.files.entries !== null);
    expect(field()).toBe('/vm/w2k3/');
    w.type('notes.txt');
    w.key('enter');
    expect((await w.until((s) => s.problem !== null)).problem?.sentence).toBe('/vm/w2k3/notes.txt is not a .vmx file.');
    w.key('ctrl-u');
    w.type('nope.vmx');
    w.key('enter');
    expect((await w.until((s) => s.problem !== null)).problem?.sentence).toBe('/vm/w2k3/nope.vmx does not exist.');
    w.key('ctrl-u');
    w.type('locked.vmx');
    w.key('enter');
    expect((await w.until((s) => s.problem !== null)).problem?.sentence).toBe('/vm/w2k3/locked.vmx is not readable.');
    f = await w.waitFor('is not readable');
    expect(f).toContain('Fix:');
    w.key('ctrl-u');
    w.type('w2k3.v');
    w.key('tab');
    await w.until((s) => s.files.only === 'w2k3.vm');
    expect(field()).toBe('w2k3.vm');
    w.type('x');
    w.key('enter');
    await w.waitFor('What was read');
    expect(remembered).toEqual(['/vm/w2k3']);
  });

  it('starts where the last .vmx was picked; ~ is $HOME; Enter on another file says why it is not taken', async () => {
    const fake = createFakeHost([], { home: '/home/admin', dirs: { '/': ['vm/', 'home/'], '/vm': ['readme.txt'], '/home/admin': ['vms/'] } });
    const store = createImportWizard({ host: fake.host, jobs: scriptedJobs().jobs, pickedDirs: { last: () => '/vm', remember: () => {} }, onClose: () => {} });
    const w = driveWizard(store, <ImportVmwareWizardView store={store} theme={chooseTheme({ LANG: 'C.UTF-8', TERM: 'xterm-256color', NO_COLOR: '1' })} />);
    cleanup = () => w.r.unmount();
    await w.until((s) => s.files.dir === '/vm' && s.files.entries !== null);
    await w.waitFor('What do you have');
    w.key('enter');
    await w.until((s) => s.step === 'file');
    w.key('down'); // readme.txt
    w.key('enter');
    expect((await w.until((s) => s.problem !== null)).problem?.sentence).toBe('/vm/readme.txt is not a .vmx file.');
    w.key('~');
    await w.until((s) => s.files.dir === '/home/admin' && s.files.entries !== null);
    expect(w.state().problem).toBeNull();
    w.key('left');
    await w.until((s) => s.files.dir === '/home' && s.files.entries !== null);
  });

  it('a remembered directory that has gone since: the pick starts where it would without one', async () => {
    const fake = createFakeHost([], { dirs: { '/': ['vm/'] } });
    const store = createImportWizard({ host: fake.host, jobs: scriptedJobs().jobs, pickedDirs: { last: () => '/gone', remember: () => {} }, onClose: () => {} });
    await expect.poll(() => store.getState().files.dir).toBe('/');
    await expect.poll(() => store.getState().files.entries?.map((e) => e.name)).toEqual(['vm']);
  });

  it('on this machine, with nothing remembered, starts in the working directory', async () => {
    const fake = createFakeHost([], { dirs: { '/srv/vms': ['a.vmx'] } });
    const local = { ...fake.host, sysExec: new Proxy(fake.host.sysExec, { get: (t, k, r) => (k === 'label' ? 'local' : Reflect.get(t, k, r)) }) };
    const store = createImportWizard({ host: local, jobs: scriptedJobs().jobs, cwd: '/srv/vms', pickedDirs: { last: () => null, remember: () => {} }, onClose: () => {} });
    expect(store.getState().files.dir).toBe('/srv/vms');
    await new Promise((r) => setTimeout(r, 20));
    expect(store.getState().files.entries?.map((e) => e.name)).toEqual(['..', 'a.vmx']);
  });

  it('opens from the Guests pane with I', async () => {
    const app = await renderApp(undefined, { host: { dirs: { '/': ['vm/'] } } });
    cleanup = () => app.unmount();
    await app.press('I');
    await app.waitFor('Import a VMware VM');
    await app.press(ESC);
    await app.waitFor('demo-web');
  });

  it('imports an OVA: step 1 chooses OVA/OVF, the picker offers .ova, the disks are always converted, the plan reads the archive first', async () => {
    const ovf = parseOvf(readFileSync(new URL('../fixtures/ovf/dmtf-ovf2.ovf', import.meta.url), 'utf8'));
    const requests: ImportRequest[] = [];
    const ovaFacts = (path: string): OvaImportFacts => ({
      vmxPath: path,
      guest: ovf.guest,
      disks: [],
      locks: [],
      existingGuests: [],
      existingDest: [],
      bridges: ['br0'],
      networks: [],
      domainType: 'qemu',
      ova: {
        kind: 'ova',
        path,
        descriptorName: 'app.ovf',
        manifestName: 'app.mf',
        manifest: [{ name: 'appliance-disk1.vmdk', algorithm: 'sha256', digest: 'c'.repeat(64), line: 1 }],
        files: ['app.ovf', 'app.mf', 'appliance-disk1.vmdk'].map((name, i) => ({ name, offset: 512 * (i * 2 + 1), size: 10, path: null })),
        ovf,
      },
    });
    const jobs: ImportJobs = {
      inspect: async (_h, path) => ovaFacts(path),
      prepare: async (_h, _p, req, _s, f) => {
        requests.push(req);
        const facts = factsForRequest(f as OvaImportFacts, req);
        const check = checkImport(facts, req);
        check.refusals.unshift(...ovaRefusals(req));
        return { facts, request: req, check, plan: check.refusals.length ? undefined : planOvaImport(facts, req, { uri: 'qemu:///system', xmlFile: '/tmp/x/domain.xml' }) };
      },
      run: async () => ({ state: 'done', journal: { path: '/tmp/j' } }) as unknown as RunResult,
    };
    const fake = createFakeHost([], { dirs: { '/': ['exports/'], '/exports': ['app.ova', 'app.vmx', 'notes.txt'] } });
    const theme = chooseTheme({ LANG: 'C.UTF-8', TERM: 'xterm-256color', NO_COLOR: '1' });
    const closed: (string | null)[] = [];
    const store = createImportWizard({ host: fake.host, jobs, startDir: '/', onClose: (d) => closed.push(d) });
    const w = driveWizard(store, <ImportVmwareWizardView store={store} theme={theme} />);
    cleanup = () => w.r.unmount();
    let f = await w.waitFor('What do you have');
    expect(f).toContain('step 1 of 6');
    w.key('right');
    await w.waitFor('OVA or OVF: an export');
    w.key('enter');
    await w.waitFor('exports/');
    w.key('enter');
    await w.waitFor('app.ova');
    expect(w.state().files.accept.test('app.vmx')).toBe(false);
    w.key('down'); // app.ova (entries sorted: app.ova, app.vmx, notes.txt)
    w.key('enter');
    f = await w.waitFor('What was read');
    expect(f).toContain('scsi0:0  disk   scsi pvscsi');
    expect(f).toContain('archive app.ovf (OVF 2.x), manifest app.mf');
    w.key('enter');
    f = await w.waitFor('Disks, name and bus');
    expect(f).toContain('convert to qcow2 (the export kept)');
    expect(f).not.toContain('run the vmdk files as they are');
    w.key('enter');
    await w.waitFor('Network cards');
    w.key('enter');
    f = await w.waitFor('Review');
    expect(requests.at(-1)).toMatchObject({ convert: 'qcow2', nics: [{ kind: 'bridge', source: 'br0' }] });
    expect(f).toMatch(/1 read app\.ova once: check every file against app\.mf/);
  });
});
