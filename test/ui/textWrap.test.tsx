/**
 * Issue 12 item 11: text that explains or instructs wraps at 80x24 instead of ending in "…".
 */
import { cleanup, render } from 'ink-testing-library';
import { afterEach, describe, expect, test } from 'vitest';
import { wrapLine, wrapLines } from '../../src/model/textWrap.js';
import { startView, updateRow } from '../../src/store/jobs/runView.js';
import { RunSteps } from '../../src/ui/components/RunSteps.js';
import { chooseTheme } from '../../src/ui/theme.js';
import { demoGuests, KEYS, renderApp } from './helpers.js';

afterEach(() => cleanup());

const theme = chooseTheme({ TERM: 'xterm-256color', LANG: 'C.UTF-8', NO_COLOR: '1' });
const ascii = chooseTheme({ TERM: 'linux', LANG: 'C', NO_COLOR: '1' });
const fits = (f: string) => {
  const rows = f.split('\n');
  expect(rows).toHaveLength(24);
  for (const l of rows) expect(l.length).toBeLessThanOrEqual(80);
};
/** The frame's rows joined back into one text, so a wrapped sentence can be looked for whole. */
const joined = (f: string) =>
  f
    .split('\n')
    .map((l) => l.trim())
    .join(' ')
    .replace(/ +/g, ' ');

/** A dialog's rows between the header rule and the status rule, borders off. */
const body = (f: string) => {
  const rows = f.split('\n');
  const end = rows.length - 1 - [...rows].reverse().findIndex((l) => l.startsWith('├'));
  return rows.slice(3, end).map((l) => l.replace(/^│ ?/, '').replace(/ *│$/, ''));
};

describe('wrapLine / wrapLines', () => {
  test('prose breaks at spaces, a path mid-word, continuations indented; line breaks start rows', () => {
    expect(wrapLine('the quick brown fox jumps over', 20)).toEqual(['the quick brown fox', '    jumps over']);
    expect(wrapLines(['a b\nc', 'd'], 20)).toEqual(['a b', 'c', 'd']);
  });
});

describe('job steps', () => {
  const long = 'qemu-img convert -p -O vmdk -o subformat=monolithicSparse,adapter_type=lsilogic /var/lib/libvirt/images/trinity-server.raw /var/lib/libvirt/images/trinity-server.new.vmdk';
  test.each([
    ['unicode', theme],
    ['ascii', ascii],
  ])('a step longer than the row wraps under its mark, nothing cut (%s)', (_name, t) => {
    let view = startView({ what: 'the conversion', undo: 'x', title: 'Convert', rows: [long, 'short step'] });
    view = updateRow(view, long, { state: 'done', note: 'verified with qemu-img compare' });
    view = { ...view, warnings: ['The destination is on the same filesystem as the guest images, so a failed disk takes the backups with it.'] };
    const ui = render(<RunSteps run={view} width={76} theme={t} />);
    const f = ui.lastFrame() ?? '';
    for (const l of f.split('\n')) expect(l.length).toBeLessThanOrEqual(76);
    expect(f).not.toContain('…');
    // A path is cut mid-word, so compare without the spaces the wrap put in.
    expect(joined(f).replace(/\s/g, '')).toContain(`1/2 ${long} verified with qemu-img compare`.replace(/\s/g, ''));
    expect(joined(f)).toContain('a failed disk takes the backups with it.');
    expect(f.split('\n')[0]?.startsWith(`${t.symbols.ok} 1/2 qemu-img convert`)).toBe(true);
  });
});

describe('dialogs at 80x24', () => {

  test('the QEMU log (L) wraps its long lines instead of cutting them', async () => {
    const app = await renderApp();
    await app.press('L');
    const f = await app.waitFor('starting up');
    fits(f);
    const rows = body(f);
    expect(rows.join('\n')).not.toContain('…');
    expect(joined(rows.join('\n'))).toContain('starting up libvirt version: 9.0.0, qemu version: 7.2.0, hostname: fakehost');
  });

  test.each(['1', '2', '3', '4', '5'])('? help of pane %s: every line whole, and ↓ scrolls to the last wrapped row', async (pane) => {
    const app = await renderApp();
    await app.press(pane);
    await app.press('?');
    await app.waitFor('Keys in the');
    const seen: string[] = [];
    for (let i = 0; i < 12; i++) {
      const f = app.frame();
      fits(f);
      seen.push(...body(f));
      await app.press('\u001B[6~');
    }
    expect(seen.join('\n')).not.toContain('…');
    expect(joined(body(app.frame()).join('\n'))).toContain('Commands after ":" complete with Tab; a command without NAME acts on the selected guest.');
  });
});

describe('the status line', () => {
  test('a message longer than the line ends in (m); m shows it whole, and it stays until another replaces it', async () => {
    const app = await renderApp();
    await app.press('5');
    await app.press('/');
    const f = await app.waitFor('(m)');
    fits(f);
    expect(f).toMatch(/The Jobs pane has no filter: \/ filters the lists of Guests, Disks.*… \(m\)/);
    await app.press('m');
    const d = await app.waitFor('Message (a problem)');
    fits(d);
    expect(joined(body(d).join('\n'))).toContain('The Jobs pane has no filter: / filters the lists of Guests, Disks, Backups and Host.');
    await app.press('q');
    expect(await app.waitFor('(m)')).not.toContain('Message (a problem)');
    expect(app.store.getState().quitRequested).toBe(false);
  });
});

describe('the Guests pane', () => {
  test('the detail strip cuts a long warning; Enter shows every warning whole', async () => {
    const guests = demoGuests();
    const twin = guests.find((g) => g.name === 'demo-files');
    if (twin) twin.macs = ['52:54:00:12:34:56'];
    const app = await renderApp(guests);
    const f = await app.waitFor('├ demo-files');
    expect(f).toMatch(/MAC 52:54:00:12:34:56 is also used by demo-web.*…/);
    await app.press(KEYS.enter);
    const d = await app.waitFor('Warnings:');
    fits(d);
    expect(body(d).join('\n')).not.toContain('…');
    expect(joined(body(d).join('\n'))).toContain('MAC 52:54:00:12:34:56 is also used by demo-web; both on one network will fight over it.');
  });
});
