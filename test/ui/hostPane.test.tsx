import { afterEach, describe, expect, it } from 'vitest';
import type { LogLine, LogSource } from '../../src/host/logs.js';
import { timeLines } from '../../src/host/logs.js';
import type { FixPlan } from '../../src/jobs/hostFixes.js';
import { evaluateChecks, type HostProbes, type SafeFix } from '../../src/model/hostChecks.js';
import { createHostPaneController, type HostPaneDeps } from '../../src/store/hostPane.js';
import type { ShownError } from '../../src/store/types.js';
import { demoGuests, ESC, KEYS, type Rendered, renderApp } from './helpers.js';

const GiB = 1024 ** 3;

function probes(): HostProbes {
  return {
    system: {
      value: {
        cpu: { virtFlag: null, hypervisor: true },
        sysctl: { 'vm.swappiness': '60' },
        shm: { fstype: 'tmpfs', sizeBytes: 4 * GiB },
        kernelConfig: { source: '/proc/config.gz', forRunningKernel: true, running: '6.1.0', hz: 250, tick: 'idle' },
        ksmRun: 0,
        thp: 'madvise',
        memTotalKiB: 16 * 1024 * 1024,
      },
    },
    accel: { value: { accel: 'tcg', reason: 'KVM is not usable: the CPU shows no vmx/svm flag; guests run under TCG emulation.' } },
    libvirt: { value: { libvirt: '9.0.0', hypervisor: 'QEMU 7.2.0' } },
    network: { value: { bridges: [], networks: [] } },
    guests: {
      value: [
        {
          name: 'demo-web',
          state: 'running',
          osType: 'debian12',
          memoryKiB: 512 * 1024,
          disks: [],
          nics: [{ mac: '52:54:00:12:34:56', type: 'bridge', source: 'br0', model: 'virtio' }],
          savedMacs: ['52:54:00:12:34:56'],
        },
      ],
    },
    imageDirs: {
      value: [
        {
          dir: '/var/lib/libvirt/images',
          exists: true,
          mount: { target: '/', source: '/dev/vda', fstype: 'ext4', options: ['rw', 'relatime'], sizeBytes: 100 * GiB, availBytes: 50 * GiB },
          images: [],
          disks: [{ name: 'vda', rotational: false, scheduler: 'none', available: ['none', 'mq-deadline'] }],
        },
      ],
    },
  };
}

interface Fake {
  deps: HostPaneDeps;
  runs: number;
  applied: SafeFix[];
  followed: LogSource[];
  push(texts: string[]): void;
  end(e: ShownError | null): void;
}

function fakeDeps(): Fake {
  let onLines: ((l: LogLine[]) => void) | null = null;
  let onEnd: ((e: ShownError | null) => void) | null = null;
  const f: Fake = {
    runs: 0,
    applied: [],
    followed: [],
    push: (texts) => onLines?.(timeLines(texts)),
    end: (e) => onEnd?.(e),
    deps: {
      async runChecks() {
        f.runs++;
        return { probes: probes(), results: evaluateChecks(probes()), at: new Date(2026, 0, 1, 14, 2, 0).getTime() };
      },
      async planFix(_host, fix): Promise<FixPlan> {
        return {
          title: 'Set vm.swappiness = 10',
          file: '/etc/sysctl.d/90-virtdeck.conf',
          edit: { text: 'vm.swappiness = 10\n', lineNumber: 2, before: null, after: 'vm.swappiness = 10', changed: true },
          persistProblem: null,
          command: ['sysctl', '-p', '/etc/sysctl.d/90-virtdeck.conf'],
          lines: [`/etc/sysctl.d/90-virtdeck.conf: add line 2: vm.swappiness = 10 (${fix.kind})`, 'then run: sysctl -p /etc/sysctl.d/90-virtdeck.conf'],
        };
      },
      async applyFix(_host, fix) {
        f.applied.push(fix);
        return { done: ['Wrote vm.swappiness = 10 to /etc/sysctl.d/90-virtdeck.conf.'], backup: null };
      },
      async libvirtdLog() {
        return { kind: 'file', path: '/var/log/libvirt/libvirtd.log', label: '/var/log/libvirt/libvirtd.log' };
      },
      follow(_host, source, _n, lines, end) {
        f.followed.push(source);
        onLines = lines;
        onEnd = end;
        return { stop: () => undefined };
      },
    },
  };
  return f;
}

let r: Rendered | null = null;
afterEach(() => {
  r?.unmount();
  r = null;
});

async function open(env?: Record<string, string>): Promise<{ r: Rendered; fake: Fake }> {
  const fake = fakeDeps();
  r = await renderApp(demoGuests(), {
    env,
    waitFor: 'checks:',
    store: { initialPane: 'host', paneFactories: { host: (host, app) => createHostPaneController(host, app, fake.deps) } },
  });
  return { r, fake };
}

const widest = (frame: string) => Math.max(...frame.split('\n').map((l) => l.length));

describe('Host pane', () => {
  it('lists the checks with ASCII status words on a Linux console, in 80x24', async () => {
    const { r } = await open({ TERM: 'linux', LANG: 'C', NO_COLOR: '1' });
    const f = await r.waitFor('vm.swappiness');
    expect(f).toContain('[x]  CPU virtualization extensions');
    expect(f).toContain('[!]  vm.swappiness');
    expect(f).toContain('[ok] libvirtd reachable');
    expect(f).toMatch(/20 checks: \d+ ok, \d+ warnings, 3 failed/);
    expect(f.split('\n').length).toBeLessThanOrEqual(24);
    expect(widest(f)).toBeLessThanOrEqual(80);
    // detail strip of the first check: why and fix
    expect(f).toContain('Why: Without VT-x');
    expect(f).toContain('Fix: Enable Intel VT-x');
  });

  it('Enter shows the full fix; f asks naming the file and line, then applies and re-checks', async () => {
    const { r, fake } = await open();
    await r.waitFor('vm.swappiness');
    for (let i = 0; i < 9; i++) await r.press('j');
    await r.waitFor(/▶. vm\.swappiness/);
    await r.press(KEYS.enter);
    let f = await r.waitFor('Fix (run as root on the host):');
    expect(f).toContain('sysctl -w vm.swappiness=10');
    expect(f).toContain('Press f on this check');
    await r.press(ESC);
    await r.press('f');
    f = await r.waitFor('Set vm.swappiness = 10?');
    expect(f).toContain('/etc/sysctl.d/90-virtdeck.conf: add line 2: vm.swappiness = 10');
    const before = fake.runs;
    await r.press('y');
    await r.waitFor(() => fake.runs > before);
    expect(fake.applied).toEqual([{ kind: 'sysctl', key: 'vm.swappiness', value: '10' }]);
  });

  it('f on a check without a safe fix says so', async () => {
    const { r } = await open();
    await r.waitFor('vm.swappiness');
    await r.press('f');
    await r.waitFor('virtdeck cannot apply this fix itself');
  });

  it("the logs view and the guest picker own their keys: the footer shows their rows of the key table", async () => {
    const { r } = await open();
    await r.waitFor('vm.swappiness');
    await r.press('L');
    let f = await r.waitFor('F follow');
    expect(f).toContain('n/N match');
    expect(f).toContain('Enter guest log');
    expect(f).toContain('Esc back');
    expect(r.store.getState().keyOwner()?.scopes()[0]).toBe('pane:host-logs');
    await r.press(KEYS.enter);
    f = await r.waitFor('Enter show its log');
    expect(f).not.toContain('F follow');
    // f (apply a fix) belongs to the checks list only.
    r.store.getState().pressKey({ name: 'f', input: 'f' });
    expect(r.store.getState().dialogs).toEqual([]);
    await r.press(ESC);
    await r.waitFor('F follow');
    await r.press(ESC);
    f = await r.waitFor('checks:');
    expect(f).toContain('f apply fix');
  });

  it('/ filters the checks; the log search is its own and leaves that filter as it was', async () => {
    const { r, fake } = await open();
    await r.waitFor('vm.swappiness');
    await r.press('/');
    await r.type('swap');
    await r.press(KEYS.enter);
    let f = await r.waitFor('filter /swap');
    expect(f).toContain('vm.swappiness');
    expect(f).not.toContain('libvirtd reachable');
    await r.press('L');
    await r.waitFor('/var/log/libvirt/libvirtd.log');
    fake.push(["2026-01-01 14:00:02.000+0000: 1454: error : virNetDevGetMTU:397 : Cannot get interface MTU on 'br9': No such device"]);
    await r.waitFor('Cannot get interface MTU');
    await r.press('/');
    await r.type('MTU');
    await r.waitFor('/MTU: 1 match');
    expect(r.store.getState().filter).toBe('swap');
    await r.press(KEYS.enter);
    await r.press(ESC);
    f = await r.waitFor('filter /swap');
    expect(f).toContain('vm.swappiness');
    expect(f).not.toContain('libvirtd reachable');
  });

  it('logs view: follows, explains known errors, searches with /, picks a guest log', async () => {
    const { r, fake } = await open();
    await r.waitFor('vm.swappiness');
    await r.press('L');
    await r.waitFor('/var/log/libvirt/libvirtd.log');
    fake.push([
      '2026-01-01 14:00:01.000+0000: 1454: info : libvirt version: 9.0.0',
      "2026-01-01 14:00:02.000+0000: 1454: error : virNetDevGetMTU:397 : Cannot get interface MTU on 'br9': No such device",
      'a line without a stamp',
    ]);
    let f = await r.waitFor('Cannot get interface MTU');
    expect(f).toMatch(/01-01 \d\d:00:02 1454: error/);
    expect(f).toContain('attached to the bridge br9, which does not');
    expect(f).toContain('Fix: Create it (ip link add br9 type bridge');
    expect(f).toContain('following');
    // Follow: many new lines keep the newest in view
    fake.push(Array.from({ length: 40 }, (_, i) => `2026-01-01 14:01:${String(i).padStart(2, '0')}.000+0000: 1454: info : line ${i}`));
    f = await r.waitFor('line 39');
    expect(f).not.toContain('libvirt version: 9.0.0');
    // Search jumps to the match
    await r.press('/');
    await r.type('MTU');
    f = await r.waitFor('/MTU: 1 match');
    expect(f).toContain('Cannot get interface MTU');
    await r.press(KEYS.enter);
    await r.press('F');
    await r.waitFor('following');
    // Guest picker → the guest's QEMU log
    await r.press(KEYS.enter);
    await r.waitFor('Whose QEMU log?');
    await r.press('j');
    await r.press(KEYS.enter);
    await r.waitFor('/var/log/libvirt/qemu/demo-web.log');
    expect(fake.followed.at(-1)).toEqual({ kind: 'file', path: '/var/log/libvirt/qemu/demo-web.log', label: '/var/log/libvirt/qemu/demo-web.log' });
    fake.end({ sentence: 'tail: cannot open the file.', fix: 'Check the path.', command: [], stderr: '' });
    await r.waitFor('ended');
    await r.press(ESC);
    await r.waitFor('checks:');
  });
});

describe('a long log line (issue 12 item 11)', () => {
  it('→ scrolls the lines sideways so a long QEMU command line can be read to its end; ← comes back', async () => {
    const { r, fake } = await open();
    await r.waitFor('vm.swappiness');
    await r.press('L');
    await r.waitFor('/var/log/libvirt/libvirtd.log');
    const tail = 'tail-of-the-command-line-END';
    fake.push([`2026-01-01 14:00:02.000+0000: LC_ALL=C /usr/bin/qemu-system-x86_64 -name guest=demo-web -machine pc-q35-7.2,usb=off -cpu qemu64 -m 128 -smp 1 ${tail}`]);
    let f = await r.waitFor('qemu-system-x86_64');
    expect(f).not.toContain(tail);
    expect(f).toContain('←→ sideways');
    for (let i = 0; i < 4 && !r.frame().includes(tail); i++) await r.press('\u001B[C');
    f = await r.waitFor(tail);
    for (const l of f.split('\n')) expect(l.length).toBeLessThanOrEqual(80);
    expect(f).toMatch(/from column \d+/);
    for (let i = 0; i < 4; i++) await r.press('\u001B[D');
    f = await r.waitFor('LC_ALL=C');
    expect(f).not.toMatch(/from column/);
  });
});

describe('the full fix (issue 12 item 11)', () => {
  it('Enter shows every check whole: what was found, why, and each fix command, wrapped, never cut', async () => {
    const { r } = await open();
    await r.waitFor('vm.swappiness');
    let cut = 0;
    for (let i = 0; i < 17; i++) {
      await r.press(KEYS.enter);
      const f = await r.waitFor('Why:');
      expect(widest(f)).toBeLessThanOrEqual(80);
      const rows = f.split('\n');
      // The dialog's rows (between the title rule and the status rule) hold no ellipsis.
      if (rows.slice(3, -5).join('\n').includes('…')) cut++;
      await r.press(ESC);
      await r.waitFor('checks:');
      await r.press('j');
    }
    expect(cut).toBe(0);
  });
});
