import { existsSync } from 'node:fs';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { killTmuxServer, rowOf, stateOf, TmuxSession } from '../helpers/tmux.js';

/**
 * The built single-file CLI in a real terminal: `node dist/virtdeck.js --demo` inside tmux, at
 * the Linux console's 80x24 with TERM=linux and at 120x40 in a UTF-8 xterm. It reads the screen
 * the way a person would and drives the demo guests with the documented keys. The demo is named
 * with its own VIRTDECK_DEMO_PREFIX, so an admin's own `virtdeck --demo` guests (demo-*) on this
 * host are neither in the way nor touched.
 */

const SOCKET = 'vdtest-e2e';
const PREFIX = 'vdtest-e2e-';
const root = path.resolve(import.meta.dirname, '../..');
const bundle = path.join(root, 'dist', 'virtdeck.js');
const STOPPED_GUEST = `${PREFIX}files`;
const RUNNING_GUEST = `${PREFIX}web`;
const DEMO_GUESTS = [`${PREFIX}files`, `${PREFIX}legacy`, RUNNING_GUEST];
let home = '';
let adminDemo = '';

/** The default demo's guests (an admin's `virtdeck --demo`) with their states, if any exist. */
async function defaultDemoGuests(): Promise<string> {
  const r = await execa('virsh', ['-c', 'qemu:///system', 'list', '--all'], { reject: false });
  return r.stdout
    .split('\n')
    .filter((l) => /\sdemo-(web|files|legacy)\s/.test(l))
    // The Id column changes when a guest restarts, the padding with the other guests' names.
    .map((l) => l.trim().split(/\s+/).slice(1).join(' '))
    .join('\n');
}
/** What every virtdeck run of this file gets: its own state dir and demo names. */
const demoEnv = () => ({ VIRTDECK_HOME: home, VIRTDECK_DEMO_PREFIX: PREFIX });

beforeAll(async () => {
  adminDemo = await defaultDemoGuests();
  await execa(process.execPath, [path.join(root, 'scripts', 'build.mjs')], { cwd: root });
  home = await mkdtemp(path.join(tmpdir(), 'vdtest-cli-e2e-'));
  // The demo disks live under VIRTDECK_HOME, and QEMU (libvirt-qemu) must get through to them.
  await chmod(home, 0o755);
});

afterAll(async () => {
  await killTmuxServer(SOCKET);
  if (home && existsSync(bundle)) {
    await execa(process.execPath, [bundle, '--demo', '--reset'], { env: demoEnv(), reject: false });
  }
  if (home) await rm(home, { recursive: true, force: true });
});

const TERMINALS = [
  { label: '80x24 TERM=linux', width: 80, height: 24, env: { TERM: 'linux', LANG: 'C' }, ascii: true },
  { label: '120x40 xterm-256color UTF-8', width: 120, height: 40, env: { TERM: 'xterm-256color', LANG: 'C.UTF-8' }, ascii: false },
];

/** The guest on the selected row, which carries a marker before the name (▶, or > in ASCII). */
function selectedGuest(screen: string): string | null {
  for (const line of screen.split('\n')) {
    const m = line.match(/[▶>]\s?([\w.-]+)\s+(running|shut off|paused|idle|in shutdown|crashed|pmsuspended|unknown)\b/);
    if (m) return m[1]!;
  }
  return null;
}

/**
 * Moves the selection to `name` one row at a time, waiting for each move to show, so no key is
 * still pending when the caller acts on the guest: the admin's own demo-* rows sit above ours.
 */
async function select(t: TmuxSession, name: string): Promise<void> {
  for (let i = 0; i < 40; i++) {
    const screen = await t.capture();
    const lines = screen.split('\n');
    const current = selectedGuest(screen);
    if (current === name) return;
    const at = (n: string | null) => (n ? lines.findIndex((l) => rowOf(l, n) !== '') : -1);
    const from = at(current);
    const to = at(name);
    if (to < 0) throw new Error(`${name} is not on the screen. Screen:\n${screen}`);
    await t.keys(from >= 0 && from > to ? 'k' : 'j');
    await t.waitFor((s) => selectedGuest(s) !== current, 10_000, `the selection to leave ${current}`);
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
      env: { ...term.env, ...demoEnv(), NO_COLOR: '1' },
    });

    // The guest table: header line, the pane tabs and every demo guest.
    const screen = await t.waitFor((s) => DEMO_GUESTS.every((g) => rowOf(s, g) !== ''), 120_000, 'the demo guests in the table');
    const lines = screen.split('\n');
    expect(lines[0]).toMatch(/virtdeck/);
    expect(screen).toMatch(/1 Guests\s+2 Disks\s+3 Backups\s+4 Host\s+5 Jobs/);
    expect(screen).toMatch(/NAME\s+STATE/);
    expect(stateOf(screen, RUNNING_GUEST)).toBe('running');
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
    await t.waitFor((s) => !/Start the selected guest/.test(s) && rowOf(s, RUNNING_GUEST) !== '', 10_000, 'help to close');

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

it("leaves the default demo's guests alone", async () => {
  expect(await defaultDemoGuests()).toBe(adminDemo);
});
