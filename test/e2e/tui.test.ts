import { existsSync } from 'node:fs';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TmuxSession, killTmuxServer, rowOf, stateOf } from '../helpers/tmux.js';

/**
 * The built single-file CLI in a real terminal: `node dist/virtdeck.js --demo` inside tmux, at
 * the Linux console's 80x24 with TERM=linux and at 120x40 in a UTF-8 xterm. It reads the screen
 * the way a person would and drives the demo guests with the documented keys.
 */

const SOCKET = 'vdtest-e2e';
const root = path.resolve(import.meta.dirname, '../..');
const bundle = path.join(root, 'dist', 'virtdeck.js');
const STOPPED_GUEST = 'demo-files';
const DEMO_GUESTS = ['demo-files', 'demo-legacy', 'demo-web'];
let home = '';

beforeAll(async () => {
  await execa(process.execPath, [path.join(root, 'scripts', 'build.mjs')], { cwd: root });
  home = await mkdtemp(path.join(tmpdir(), 'vdtest-cli-e2e-'));
  // The demo disks live under VIRTDECK_HOME, and QEMU (libvirt-qemu) must get through to them.
  await chmod(home, 0o755);
});

afterAll(async () => {
  await killTmuxServer(SOCKET);
  if (home && existsSync(bundle)) {
    await execa(process.execPath, [bundle, '--demo', '--reset'], { env: { VIRTDECK_HOME: home }, reject: false });
  }
  if (home) await rm(home, { recursive: true, force: true });
});

const TERMINALS = [
  { label: '80x24 TERM=linux', width: 80, height: 24, env: { TERM: 'linux', LANG: 'C' }, ascii: true },
  { label: '120x40 xterm-256color UTF-8', width: 120, height: 40, env: { TERM: 'xterm-256color', LANG: 'C.UTF-8' }, ascii: false },
];

/** The selected row carries a marker before the name (▶ or > in ASCII). */
function selectedRow(screen: string): string {
  return screen.split('\n').find((l) => /[▶>]\s?demo-/.test(l)) ?? '';
}

async function select(t: TmuxSession, name: string): Promise<void> {
  await t.keys('g');
  for (let i = 0; i < 40; i++) {
    const screen = await t.capture();
    if (selectedRow(screen).includes(name)) return;
    await t.keys('j');
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`Could not select ${name}. Screen:\n${await t.capture()}`);
}

/** Presses y when the action asks first (the confirm dialog offers "n keep as is"). */
async function confirmIfAsked(t: TmuxSession, name: string): Promise<void> {
  // Starting under TCG on a busy 2-core host can take a while before the row changes.
  const screen = await t.waitFor((s) => /keep as is/.test(s) || stateOf(s, name) !== 'shut off', 60_000, 'a confirm dialog or a state change');
  if (/keep as is/.test(screen)) await t.keys('y');
}

describe.each(TERMINALS)('virtdeck --demo in tmux at $label', (term) => {
  it('shows the guests, help, starts and forces off a guest, and restores the terminal on q', async () => {
    const t = await TmuxSession.start({
      socket: SOCKET,
      session: `vd-${term.width}`,
      width: term.width,
      height: term.height,
      cwd: root,
      argv: [process.execPath, bundle, '--demo'],
      env: { ...term.env, VIRTDECK_HOME: home, NO_COLOR: '1' },
    });

    // The guest table: header line, the pane tabs and every demo guest.
    const screen = await t.waitFor((s) => DEMO_GUESTS.every((g) => rowOf(s, g) !== ''), 120_000, 'the demo guests in the table');
    const lines = screen.split('\n');
    expect(lines[0]).toMatch(/virtdeck/);
    expect(screen).toMatch(/1 Guests\s+2 Disks\s+3 Backups\s+4 Host\s+5 Jobs/);
    expect(screen).toMatch(/NAME\s+STATE/);
    expect(stateOf(screen, 'demo-web')).toBe('running');
    for (const l of lines) expect(l.length).toBeLessThanOrEqual(term.width);
    if (term.ascii) {
      expect(lines[0]).toMatch(/^\+/);
      expect(screen).not.toMatch(/[┌┐└┘│─├┤▶…]/);
    } else {
      expect(lines[0]).toMatch(/^┌/);
    }

    // Help opens on ? and closes again.
    await t.keys('?');
    const help = await t.waitFor(/Start the selected guest/, 10_000, 'the help overlay');
    expect(help).toMatch(/[+┌├] Help /);
    expect(help).toMatch(/Force the guest off/);
    expect(help).toMatch(/close/);
    await t.keys('Escape');
    await t.waitFor((s) => !/Start the selected guest/.test(s) && rowOf(s, 'demo-web') !== '', 10_000, 'help to close');

    // Start the stopped guest and wait for its row to say running.
    await select(t, STOPPED_GUEST);
    await t.keys('s');
    await confirmIfAsked(t, STOPPED_GUEST);
    await t.waitFor((s) => stateOf(s, STOPPED_GUEST) === 'running', 60_000, `${STOPPED_GUEST} running`);

    // Force it off (F asks first) and wait for "shut off".
    await select(t, STOPPED_GUEST);
    await t.keys('F');
    await t.waitFor(/keep as is/, 10_000, 'the force-off question');
    await t.keys('y');
    await t.waitFor((s) => stateOf(s, STOPPED_GUEST) === 'shut off', 30_000, `${STOPPED_GUEST} shut off`);

    // q quits: the program exits 0, the alternate screen is left and the cursor is visible again.
    await t.keys('q');
    const status = await t.waitForExit(10_000);
    expect(status).toBe(0);
    expect(await t.format('#{alternate_on}')).toBe('0');
    expect(await t.format('#{cursor_flag}')).toBe('1');
    const after = await t.capture();
    expect(after).not.toMatch(/NAME\s+STATE/);
    expect(after).toMatch(/Demo (ready|already set up)/);
  }, 300_000);
});
