import { cleanup } from 'ink-testing-library';
import { afterEach, describe, expect, test } from 'vitest';
import { ESC, KEYS, renderApp } from './helpers.js';

afterEach(() => cleanup());

const virshCalls = (calls: string[][], sub: string) => calls.filter((c) => c[0] === 'virsh' && c.slice(3).some((a) => a === sub || a.startsWith(`${sub} `) || a.includes(`; ${sub} `)));

describe('frame', () => {
  test('header, tabs, guest table and footer fit 80x24', async () => {
    const app = await renderApp();
    const f = await app.waitFor('TCG (no KVM)');
    const lines = f.split('\n');
    expect(lines).toHaveLength(24);
    for (const l of lines) expect(l.length).toBeLessThanOrEqual(80);
    expect(f).toContain('virtdeck · fakehost · qemu:///system · libvirt 9.0 · QEMU 7.2 · TCG (no KVM)');
    // Issue 16: usage (CPU%, MEM) took the MAC's place at 80 columns; the MAC is in the detail strip.
    expect(f).toMatch(/NAME +STATE +CPU +RAM +CPU% +MEM DISKS +VNC AUTO/);
    expect(f).toMatch(/demo-web +running +1 +512M +- +- +1 5901 yes/);
    expect(f).toContain('s start  S shutdown  F force off');
  });

  test('1–5, Tab and h/l switch panes, each showing its own table', async () => {
    const app = await renderApp();
    await app.press('2');
    await app.waitFor('VIRTUAL');
    await app.press('4');
    await app.waitFor('checks:');
    await app.press(KEYS.tab);
    await app.waitFor('STARTED');
    await app.press(KEYS.tab);
    await app.waitFor('NAME');
    expect(app.store.getState().pane).toBe('guests');
    await app.press('l');
    await app.waitFor('VIRTUAL');
    await app.press('h');
    await app.waitFor('demo-web');
    await app.press('3');
    await app.waitFor('LAST RUN');
    await app.press('1');
    expect(await app.waitFor('NAME')).toContain('trinity-server');
  });

  test('too small: a notice with the size needed and the size there is', async () => {
    const app = await renderApp(undefined, { store: { size: { columns: 70, rows: 20 } }, waitFor: 'Terminal too small' });
    expect(app.frame()).toContain('Terminal too small: need 80x24, have 70x20');
    expect(app.frame()).not.toContain('NAME');
    await app.press('q');
    expect(app.store.getState().quitRequested).toBe(true);
  });

  test('too small notice after a resize in the store, and back', async () => {
    const app = await renderApp();
    app.store.getState().setSize({ columns: 79, rows: 24 });
    await app.waitFor('Terminal too small: need 80x24, have 79x24');
    app.store.getState().setSize({ columns: 80, rows: 24 });
    await app.waitFor('demo-web');
  });
});

describe('navigation and filter', () => {
  test('j/k, G/g move the selection; the detail strip follows', async () => {
    const app = await renderApp();
    await app.waitFor('├ demo-files');
    await app.press('j');
    await app.waitFor('├ demo-web');
    await app.press('G');
    await app.waitFor('├ trinity-server');
    await app.press('g');
    await app.waitFor('├ demo-files');
    await app.press(KEYS.down);
    await app.waitFor('├ demo-web');
    await app.press(KEYS.up);
    await app.waitFor('├ demo-files');
  });

  test('/ filters live, Enter keeps, Esc clears', async () => {
    const app = await renderApp();
    await app.press('/');
    await app.type('tri');
    const f = await app.waitFor('/tri');
    expect(f).toContain('trinity-server');
    expect(f).not.toContain('demo-web ');
    await app.press(KEYS.enter);
    expect(await app.waitFor('filter /tri')).not.toContain('demo-files');
    expect(app.store.getState().mode).toBe('normal');
    await app.press('/');
    await app.press(ESC);
    const cleared = await app.waitFor('demo-files');
    expect(cleared).toContain('trinity-server');
    expect(app.store.getState().filter).toBe('');
  });

  test('keys that arrive in one chunk (a busy host, tmux send-keys) act one by one', async () => {
    const app = await renderApp();
    // "/" opens the filter, "tri" is its text, "\r" keeps it: all in one read.
    await app.press('/tri\r');
    expect(await app.waitFor('filter /tri')).not.toContain('demo-files');
    expect(app.store.getState().mode).toBe('normal');
    expect(app.store.getState().filter).toBe('tri');
  });

  test('a key that closes a dialog and the next key in the same read both act (Enter then 5 over SSH)', async () => {
    const app = await renderApp();
    await app.press('?');
    await app.waitFor('Keys in the Guests pane');
    // q closes help; 2 then reaches the console behind it, not the help screen that is going away.
    await app.press('q2');
    await app.waitFor((f) => !f.includes('Keys in the Guests pane') && app.store.getState().pane === 'disks');
  });

  test('the selection stays on the same guest when rows move', async () => {
    const app = await renderApp();
    await app.press('j');
    await app.waitFor('├ demo-web');
    app.fake.guests.unshift({ name: 'aaa-new', uuid: '00000000-0000-4000-8000-0000000000aa', state: 'shut off', vcpus: 1, memoryMiB: 64 });
    app.fake.guests.reverse();
    await app.store.getState().refresh();
    const f = await app.waitFor('aaa-new');
    expect(f).toContain('├ demo-web');
    expect(app.store.getState().selected).toBe('demo-web');
    // The selected guest vanishes: the row that took its place is selected, not the first.
    app.fake.guests.splice(
      app.fake.guests.findIndex((g) => g.name === 'demo-web'),
      1,
    );
    await app.store.getState().refresh();
    await app.waitFor((s) => !s.includes('demo-web'));
    expect(app.store.getState().selected).not.toBeNull();
  });
});

describe('help and command line', () => {
  test('? lists the keymap entries', async () => {
    const app = await renderApp();
    await app.press('?');
    const f = await app.waitFor('Keys in the Guests pane');
    expect(f).toContain('Start the selected guest');
    expect(f).toContain('Shut the guest down via ACPI');
    expect(f).toMatch(/S +Shut/);
    await app.press(ESC);
    await app.waitFor('NAME');
  });

  test(':start NAME starts that guest', async () => {
    const app = await renderApp();
    await app.press(':');
    await app.type('start demo-files');
    await app.waitFor(':start demo-files');
    await app.press(KEYS.enter);
    await app.waitFor(/demo-files +running/);
    expect(virshCalls(app.fake.calls, 'start').length).toBe(1);
  });

  test('unknown command gives one sentence', async () => {
    const app = await renderApp();
    await app.press(':');
    await app.type('frobnicate');
    await app.press(KEYS.enter);
    await app.waitFor('Unknown command ":frobnicate"; type :help to see the commands.');
  });

  test('Tab completes command names and guests', async () => {
    const app = await renderApp();
    await app.press(':');
    await app.type('shu');
    await app.press(KEYS.tab);
    await app.waitFor(':shutdown ');
    await app.type('dem');
    await app.waitFor('shutdown demo-files');
  });

  test(':q quits', async () => {
    const app = await renderApp();
    await app.press(':');
    await app.press('q');
    await app.press(KEYS.enter);
    expect(app.store.getState().quitRequested).toBe(true);
  });

  test('q quits without asking', async () => {
    const app = await renderApp();
    await app.press('q');
    expect(app.store.getState().quitRequested).toBe(true);
  });
});

describe('confirm dialogs and errors', () => {
  test('S names the guest; n and Esc cancel; y shuts it down', async () => {
    const app = await renderApp();
    await app.press('j');
    await app.waitFor('├ demo-web');
    await app.press('S');
    await app.waitFor('Shut down demo-web?');
    await app.press('n');
    await app.waitFor('├ demo-web');
    await app.press('S');
    await app.waitFor('Shut down demo-web?');
    await app.press(ESC);
    await app.waitFor('├ demo-web');
    expect(virshCalls(app.fake.calls, 'shutdown')).toHaveLength(0);
    await app.press('S');
    await app.waitFor('Shut down demo-web?');
    await app.press('y');
    await app.waitFor(/demo-web +shut off/);
    await app.waitFor('demo-web is shut off.');
    expect(virshCalls(app.fake.calls, 'shutdown')).toHaveLength(1);
  });

  test('a guest that ignores ACPI is offered force off after the timeout', async () => {
    const guests = [{ name: 'stubborn', state: 'running' as const, vcpus: 1, memoryMiB: 64, ignoresAcpi: true }];
    const app = await renderApp(guests, { store: { shutdownTimeoutMs: 300 } });
    await app.press('S');
    await app.press('y');
    await app.waitFor('stubborn is still running');
    await app.press('y');
    await app.waitFor(/stubborn +shut off/);
    expect(virshCalls(app.fake.calls, 'destroy')).toHaveLength(1);
  });

  test('D needs the exact name and keeps disks by default', async () => {
    const app = await renderApp();
    await app.press('D');
    await app.waitFor('Type the name demo-files to confirm');
    await app.type('demo-file');
    await app.press(KEYS.enter);
    await app.waitFor('Enter works once the name matches exactly.');
    expect(virshCalls(app.fake.calls, 'undefine')).toHaveLength(0);
    await app.press('s');
    await app.waitFor('Enter deletes demo-files, keeping its disks.');
    await app.press(KEYS.enter);
    await app.waitFor('demo-files is deleted; its disk images are kept.');
    const call = virshCalls(app.fake.calls, 'undefine')[0] ?? [];
    expect(call.join(' ')).not.toContain('remove-all-storage');
  });

  test('a failed start shows the sentence, the fix and the command, never a stack', async () => {
    const app = await renderApp(undefined, {
      // A message neither catalog knows: the dialog shows libvirt's first line, the rest under d.
      host: { failOn: { start: "error: Failed to start domain 'demo-files'\nerror: internal error: unexpected reply from the hypervisor" } },
    });
    await app.press('s');
    const f = await app.waitFor('Could not start demo-files');
    expect(f).toContain("Failed to start domain 'demo-files'");
    expect(f).toContain('Fix:');
    expect(f).toContain('Ran: virsh -c qemu:///system');
    expect(f).not.toMatch(/unexpected reply from the hypervisor/);
    expect(f).not.toMatch(/at .*\.(ts|js):\d+/);
    expect(f).not.toContain('HostError');
    await app.press('d');
    expect(await app.waitFor('d hides the details')).toMatch(/unexpected reply from the hypervisor/);
    await app.press(ESC);
    await app.waitFor('NAME');
  });
});

describe('settings form', () => {
  test('a bad MAC shows its sentence inline and defines nothing', async () => {
    const app = await renderApp();
    await app.press('j');
    await app.waitFor('├ demo-web');
    await app.press('e');
    await app.waitFor('Settings of demo-web');
    await app.press(KEYS.down);
    await app.press(KEYS.down);
    await app.waitFor(/▶ MAC 0/);
    await app.press('\u0015'); // Ctrl-U clears the field
    await app.type('zz:zz');
    await app.waitFor('[zz:zz');
    await app.press(KEYS.ctrlS);
    const f = await app.waitFor('is not a MAC address');
    expect(f).toContain('Fix: Write six pairs of hex digits');
    expect(f).toContain('Settings of demo-web');
    expect(virshCalls(app.fake.calls, 'define')).toHaveLength(0);
  });

  test('a good edit shows the XML diff and defines on y', async () => {
    const app = await renderApp();
    await app.press('j');
    await app.press('e');
    await app.waitFor('Settings of demo-web');
    await app.press(KEYS.down);
    await app.press(KEYS.backspace);
    await app.type('2');
    await app.press(KEYS.ctrlS);
    const f = await app.waitFor('Apply to demo-web?');
    expect(f).toMatch(/-\s*<vcpu placement='static'>1<\/vcpu>/);
    expect(f).toMatch(/\+\s*<vcpu placement='static'>2<\/vcpu>/);
    await app.press('y');
    await app.waitFor(/demo-web +running +2/);
    expect(virshCalls(app.fake.calls, 'define')).toHaveLength(1);
  });
});

describe('theme in the frame', () => {
  test('TERM=linux draws with +-| and no box-drawing characters', async () => {
    const app = await renderApp(undefined, { env: { TERM: 'linux', LANG: 'C.UTF-8' } });
    const f = await app.waitFor('TCG (no KVM)');
    expect(f.split('\n')[0]).toMatch(/^\+ virtdeck - fakehost - qemu:\/\/\/system/);
    expect(f).toContain('|');
    expect(f).not.toMatch(/[─│┌┐└┘├┤▶·…]/);
    expect(f).toContain('>demo-files');
  });
});

describe('settings form generate', () => {
  test('k on the generate row fills a 52:54:00 MAC, w a 00:50:56 one', async () => {
    const app = await renderApp();
    await app.press('e');
    await app.waitFor('Settings of demo-files');
    for (let i = 0; i < 3; i++) await app.press(KEYS.down);
    await app.waitFor(/▶ +generate/);
    await app.press('k');
    await app.waitFor(/\[52:54:00:[0-9a-f:]{8}\]/);
    await app.press('w');
    await app.waitFor(/\[00:50:56:[0-3][0-9a-f]:[0-9a-f:]{5}\]/);
  });
});
