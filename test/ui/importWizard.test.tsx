import { render } from 'ink-testing-library';
import { afterEach, describe, expect, it } from 'vitest';
import type { PreparedImport } from '../../src/jobs/importVmware.js';
import type { RunResult } from '../../src/jobs/runner.js';
import { checkImport, type ImportFacts, type ImportRequest, planImport, plannedDestFiles } from '../../src/model/importVmwarePlan.js';
import { parseVmx } from '../../src/model/vmx.js';
import { chooseTheme } from '../../src/ui/theme.js';
import { type ImportJobs, ImportVmwareWizard } from '../../src/ui/wizards/ImportVmwareWizard.js';
import { createFakeHost } from '../helpers/fakeHost.js';
import { ESC, inkDriver, KEYS, renderApp } from './helpers.js';

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
function scriptedJobs(opts: { locked?: boolean; hold?: boolean } = {}) {
  const calls: { ran: PreparedImport[]; requests: ImportRequest[] } = { ran: [], requests: [] };
  const facts = (vmxPath: string): ImportFacts => {
    const guest = parseVmx(VMX, { resolveFile: (n) => `/vm/w2k3/${n}` });
    const desc = { version: 1, cid: 1, parentCid: 0xffffffff, createType: 'monolithicSparse', extents: [], ddb: {}, parentFileNameHint: null };
    return {
      vmxPath,
      guest,
      disks: [{ key: 'scsi0:0', chain: { active: '/vm/w2k3/w2k3.vmdk', links: [{ path: '/vm/w2k3/w2k3.vmdk', descriptor: desc }], snapshot: false, warnings: [] }, virtualSize: 8 << 20, unused: [] }],
      locks: opts.locked ? ['/vm/w2k3/w2k3.vmx.lck'] : [],
      existingGuests: [],
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
        // The first step runs until the wizard cancels the job.
        const first = prepared.plan?.steps[0];
        if (first) o.onEvent?.({ type: 'step-start', index: 0, step: first });
        await new Promise((resolve) => o.signal?.addEventListener('abort', resolve));
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

function renderWizard(jobs: ImportJobs, closed: (string | null)[]) {
  const fake = createFakeHost([], { dirs: { '/': ['vm/', 'etc/'], '/vm': ['w2k3/'], '/vm/w2k3': ['w2k3.vmx', 'w2k3.vmdk', 'w2k3.nvram'] } });
  const theme = chooseTheme({ LANG: 'C.UTF-8', TERM: 'xterm-256color', NO_COLOR: '1' });
  const r = render(<ImportVmwareWizard host={fake.host} jobs={jobs} theme={theme} startDir="/" onClose={(d) => closed.push(d)} />);
  const { frame, waitFor, press } = inkDriver(r, { keyDelayMs: 25, settleMs: 0 });
  return { r, frame, waitFor, press, fake };
}

let cleanup: (() => void) | null = null;
afterEach(() => {
  cleanup?.();
  cleanup = null;
});

/** Through the file browser to the .vmx and open it: vm/ → w2k3/ → w2k3.vmx. */
async function pickVmx(w: ReturnType<typeof renderWizard>): Promise<void> {
  await w.waitFor('vm/');
  // Directories first: etc/ then vm/ (the list is sorted), so one down.
  await w.press(KEYS.down);
  await w.press(KEYS.enter);
  await w.waitFor('w2k3/');
  await w.press(KEYS.down);
  await w.press(KEYS.enter);
  await w.waitFor('w2k3.vmx');
  await w.press(KEYS.down); // w2k3.nvram (not pickable)
  await w.press(KEYS.down); // w2k3.vmdk
  await w.press(KEYS.down); // w2k3.vmx
  await w.press(KEYS.enter);
}

/** From the file browser to the network step: the .vmx, then Enter through the facts and disks. */
async function toNetworkCards(w: ReturnType<typeof renderWizard>): Promise<void> {
  await pickVmx(w);
  await w.waitFor('What was read');
  await w.press(KEYS.enter);
  await w.waitFor('Disks, name and bus');
  await w.press(KEYS.enter);
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
    await w.press(KEYS.enter);
    f = await w.waitFor('Disks, name and bus');
    expect(f).toContain('run the vmdk files as they are');
    // Back and forward again keeps the form.
    await w.press(ESC);
    await w.waitFor('What was read');
    await w.press(KEYS.enter);
    await w.waitFor('Disks, name and bus');
    await w.press(KEYS.down); // Disks choice
    await w.press('\u001B[C'); // → convert to qcow2
    f = await w.waitFor('convert to qcow2');
    await w.press(KEYS.enter);
    f = await w.waitFor('Network cards');
    expect(f).toContain('bridge br0');
    expect(f).toMatch(/keeps its MAC from the \.vmx: Windows ties its IP settings to the MAC/);
    await w.press(KEYS.enter);
    f = await w.waitFor('Review');
    expect(f).toContain('qemu-img convert');
    expect(calls.requests.at(-1)).toMatchObject({ convert: 'qcow2', bus: 'keep', nics: [{ kind: 'bridge', source: 'br0' }], name: 'w2k3' });
    // The XML is further down: scroll to it.
    const mac = "<mac address='00:50:56:01:02:03'/>";
    for (let i = 0; i < 60 && !w.frame().includes(mac); i++) await w.press(KEYS.down);
    await w.waitFor(mac);
    await w.press(KEYS.down);
    await w.waitFor("<source bridge='br0'/>");
    await w.press(KEYS.enter);
    await w.waitFor('w2k3 is defined');
    expect(calls.ran).toHaveLength(1);
    await w.press(KEYS.enter);
    expect(closed).toEqual(['w2k3']);
  });

  it('refuses on the last form step while VMware holds a lock, and Esc/Ctrl-C leave without importing', async () => {
    const { jobs, calls } = scriptedJobs({ locked: true });
    const closed: (string | null)[] = [];
    const w = renderWizard(jobs, closed);
    cleanup = () => w.r.unmount();
    await toNetworkCards(w);
    await w.press(KEYS.enter);
    const f = await w.waitFor('VMware has this VM open');
    expect(f).toContain('delete the .lck directories');
    expect(f).toContain('Network cards'); // stays on the step
    await w.press(KEYS.ctrlC);
    expect(closed).toEqual([null]);
    expect(calls.ran).toHaveLength(0);
  });

  it('asks before cancelling a running import: n keeps it going, y cancels; q closes the result', async () => {
    const { jobs, calls } = scriptedJobs({ hold: true });
    const closed: (string | null)[] = [];
    const w = renderWizard(jobs, closed);
    cleanup = () => w.r.unmount();
    await toNetworkCards(w);
    await w.press(KEYS.enter);
    await w.waitFor('Review');
    await w.press(KEYS.enter);
    await w.waitFor('Esc/Ctrl-C cancel');
    await w.press(KEYS.ctrlC);
    const asked = await w.waitFor('Cancel the import?');
    expect(asked.replace(/\s+/g, ' ')).toContain('Finished steps are undone (the guest undefined); the .vmx and its disks are kept. (y/n)');
    expect(asked).toContain('y cancel the import   n keep going');
    await w.press('n');
    const going = await w.waitFor((f) => !f.includes('Cancel the import?'));
    expect(going).toContain('Esc/Ctrl-C cancel');
    expect(calls.ran[0]?.plan).toBeDefined();
    await w.press(ESC);
    await w.waitFor('Cancel the import?');
    await w.press('y');
    await w.waitFor('The import was cancelled');
    await w.press('q');
    expect(closed).toEqual([null]);
  });

  it('Esc on the first step closes the wizard', async () => {
    const closed: (string | null)[] = [];
    const w = renderWizard(scriptedJobs().jobs, closed);
    cleanup = () => w.r.unmount();
    await w.waitFor('vm/');
    await w.press(ESC);
    expect(closed).toEqual([null]);
  });

  it('opens from the Guests pane with I', async () => {
    const app = await renderApp(undefined, { host: { dirs: { '/': ['vm/'] } } });
    cleanup = () => app.unmount();
    await app.press('I');
    await app.waitFor('Import a VMware VM');
    await app.press(ESC);
    await app.waitFor('demo-web');
  });
});
