/**
 * TERM=linux promises ASCII: a tour of the console as a Linux-console admin sees it (every pane and
 * its help, the filter and command lines, the host picker, confirmations, the error dialog, the
 * settings form and its diff, details, the disk dialogs and the first screen of every wizard), and
 * not one byte above 0x7E in any frame written. The wizards' later steps, the Backups, Host and
 * Jobs screens are drawn in ASCII too by every UI test through its harness (asciiTwin.tsx).
 */
import { cleanup } from 'ink-testing-library';
import { afterEach, describe, expect, test } from 'vitest';
import { createDisksPaneController } from '../../src/store/disksPane.js';
import { PANE_FACTORIES } from '../../src/store/paneFactories.js';
import type { FakeGuest } from '../helpers/fakeHost.js';
import { firstNonAsciiLine } from './asciiTwin.js';
import { demoGuests, ESC, KEYS, type Rendered, renderApp } from './helpers.js';

afterEach(() => cleanup());

const LINUX_CONSOLE = { TERM: 'linux', LANG: 'C' };
const DIR = '/srv/vm';

function expectAscii(app: Rendered): void {
  expect(app.frames().length).toBeGreaterThan(0);
  expect(firstNonAsciiLine(app.frames())).toBeNull();
}

function tourHost() {
  const guests: FakeGuest[] = [
    ...demoGuests(),
    { name: 'disk-user', state: 'shut off', vcpus: 1, memoryMiB: 256, disks: [{ source: `${DIR}/files.raw`, format: 'raw', target: 'sda', bus: 'sata' }] },
  ];
  return renderApp(guests, {
    env: LINUX_CONSOLE,
    host: {
      failOn: { start: 'error: Failed to start domain demo-files\nerror: Cannot access storage file /srv/vm/files.raw: No such file or directory' },
      images: {
        [`${DIR}/files.raw`]: { format: 'raw', virtualSize: 1024 ** 3, size: 1024 ** 3 },
        [`${DIR}/spare.qcow2`]: { format: 'qcow2', virtualSize: 2 * 1024 ** 3, check: { leaks: 4 } },
      },
      dirs: { '/': ['vm/'] },
    },
    store: { paneFactories: { ...PANE_FACTORIES, disks: (host, app) => createDisksPaneController(host, app, { imageDirs: [DIR], cacheFile: null }) } },
  });
}

describe('TERM=linux: every screen in ASCII', () => {
  test('the frame is drawn with +-| and the check sees a glyph when there is one', async () => {
    const app = await tourHost();
    const f = await app.waitFor('TCG (no KVM)');
    expect(f).toContain('+ virtdeck - fakehost - qemu:///system');
    expect(firstNonAsciiLine(['ok', 'a → b'])).toBe('a → b');
    expect(firstNonAsciiLine(['cut by Ink…'])).toBeNull();
    expectAscii(app);
  });

  test('Guests: help, filter, command line, host picker, confirmations, error, settings, details', async () => {
    const app = await tourHost();
    await app.waitFor('TCG (no KVM)');
    await app.press('?');
    await app.waitFor('Keys in the Guests pane');
    await app.press('G');
    await app.press('q');
    await app.press('/');
    await app.type('demo');
    await app.waitFor('/demo');
    await app.press(KEYS.enter);
    await app.press('/');
    await app.press(ESC);
    await app.press(':');
    await app.type('sta');
    await app.press(KEYS.tab);
    await app.press(ESC);
    await app.press(':');
    await app.type('nosuch');
    await app.press(KEYS.enter);
    await app.waitFor('nosuch');
    await app.press('H');
    await app.press(ESC);
    // demo-files is first (sorted): start fails with the error dialog, d shows its details.
    await app.press('s');
    await app.waitFor('Fix');
    await app.press('d');
    await app.press(ESC);
    await app.press('j');
    await app.press('S');
    await app.waitFor('Shut down demo-web?');
    await app.press('n');
    await app.press('D');
    await app.waitFor('Type');
    await app.press(ESC);
    await app.press('e');
    await app.waitFor('Memory');
    await app.press(ESC);
    await app.press(KEYS.enter);
    await app.press(ESC);
    await app.press('v');
    await app.press(ESC);
    expectAscii(app);
  });

  test('every other pane with its help', async () => {
    const app = await tourHost();
    await app.waitFor('TCG (no KVM)');
    for (const [key, shows] of [
      ['2', 'VIRTUAL'],
      ['3', 'LAST RUN'],
      ['4', 'checks:'],
      ['5', 'STARTED'],
    ] as const) {
      await app.press(key);
      await app.waitFor(shows);
      await app.press('?');
      await app.waitFor('Keys in the');
      await app.press('q');
      await app.waitFor(shows);
    }
    await app.press('4');
    await app.press('L');
    await app.press(ESC);
    expectAscii(app);
  });

  test('Disks: details, check, new disk, attach, delete, and the convert and expand wizards', async () => {
    const app = await tourHost();
    await app.press('2');
    await app.waitFor(`${DIR}/files.raw`);
    await app.press(KEYS.enter);
    await app.press(ESC);
    await app.press('j');
    await app.press('K');
    await app.press('N');
    await app.press(ESC);
    await app.press('A');
    await app.press(ESC);
    await app.press('D');
    await app.press(ESC);
    await app.press('k');
    await app.press('C');
    await app.waitFor('Convert');
    await app.press(KEYS.ctrlC);
    await app.waitFor('K check');
    await app.press('X');
    await app.waitFor('Expand disk');
    await app.press(KEYS.ctrlC);
    await app.waitFor('K check');
    expectAscii(app);
  });

  test('the wizards opened from Guests: new guest, import, P2V, MergeIDE', async () => {
    const app = await tourHost();
    await app.waitFor('TCG (no KVM)');
    for (const [key, shows] of [
      ['n', 'New guest'],
      ['I', 'Import a VMware VM'],
      // The wizard's own title: the status line names the wizard while its code loads the first time.
      ['P', /P2V . step/],
      ['M', /MergeIDE . demo-/],
    ] as const) {
      await app.press(key);
      await app.waitFor(shows);
      await app.press(KEYS.ctrlC);
      if (app.store.getState().dialogs.length > 0) await app.press(ESC);
      await app.waitFor((f) => f.includes('TCG (no KVM)') && app.store.getState().dialogs.length === 0);
    }
    expectAscii(app);
  });
});
