import { describe, expect, test } from 'vitest';
import { keyName } from '../../src/store/keys/keyName.js';
import { paneScopes } from '../../src/store/keys/owners.js';
import { completeCommand, hintsFor, parseCommand, routeKey } from '../../src/store/keys/router.js';
import { KEY_TABLE } from '../../src/store/keys/table.js';
import type { PaneId } from '../../src/store/paneIds.js';

const findBinding = (pane: PaneId, name: string) => routeKey(paneScopes(pane), { name, input: name.length === 1 ? name : '' })?.row;
const footerBindings = (pane: PaneId) => hintsFor(paneScopes(pane)).map((h) => ({ keys: [h.keys] }));

import { visibleWindow } from '../../src/ui/components/table.js';
import { guestColumns } from '../../src/ui/panes/guestTable.js';

describe('keymap', () => {
  test('no key is bound twice in the same pane', () => {
    for (const pane of ['guests', 'disks', 'backups', 'host', 'jobs'] as const) {
      const seen = new Map<string, string>();
      for (const b of KEY_TABLE.filter((x) => x.scopes.some((sc) => sc === `pane:${pane}` || sc === 'panes'))) {
        for (const k of b.keys) {
          expect(seen.get(k), `${k} in ${pane}`).toBeUndefined();
          seen.set(k, b.action);
        }
      }
    }
  });

  test('guest actions only in the guests pane; global keys everywhere', () => {
    expect(findBinding('guests', 'S')?.action).toBe('shutdown');
    expect(findBinding('disks', 'S')).toBeUndefined();
    expect(findBinding('jobs', 'q')?.action).toBe('quit');
    expect(findBinding('jobs', 'ctrl-c')?.action).toBe('quit');
    expect(footerBindings('guests').map((b) => b.keys[0])).toEqual(expect.arrayContaining(['s', 'S', 'F', 'e', 'x', 'c', 'n', '/', ':', '?']));
  });

  test('keyName maps Ink key flags', () => {
    expect(keyName('', { upArrow: true })).toBe('up');
    expect(keyName('\t', { tab: true })).toBe('tab');
    expect(keyName('', { tab: true, shift: true })).toBe('shift-tab');
    expect(keyName('c', { ctrl: true })).toBe('ctrl-c');
    expect(keyName('S', { shift: true })).toBe('S');
  });

  test('commands parse and complete', () => {
    expect(parseCommand('start web1')).toMatchObject({ binding: { action: 'start' }, guest: 'web1' });
    expect(parseCommand('q')?.binding.action).toBe('quit');
    expect(parseCommand('destroy x')?.binding.action).toBe('forceOff');
    expect(parseCommand('nope')).toBeNull();
    expect(completeCommand('sh', [])).toEqual(['shutdown']);
    expect(completeCommand('start de', ['demo-web', 'other', 'demo-files'])).toEqual(['start demo-web', 'start demo-files']);
    expect(completeCommand('quit x', ['x'])).toEqual([]);
  });
});

describe('guest table', () => {
  test('columns fit 80 columns (76 inside the frame) and give the rest to NAME', () => {
    const cols = guestColumns(76);
    const total = 1 + cols.reduce((n, c) => n + c.width, 0) + cols.length - 1;
    expect(total).toBe(76);
    expect(cols[0]?.width).toBeGreaterThanOrEqual(16);
    // From 120 terminal columns the MAC and the disk and network rates show too (issue 16).
    const wide = guestColumns(116);
    expect(wide.map((c) => c.key)).toEqual(['name', 'state', 'cpu', 'ram', 'use', 'mem', 'diskio', 'netio', 'disks', 'mac', 'vnc', 'auto']);
    expect(1 + wide.reduce((n, c) => n + c.width, 0) + wide.length - 1).toBe(116);
    expect(wide[0]?.width).toBeGreaterThanOrEqual(16);
    expect(guestColumns(156)[0]?.width).toBe((wide[0]?.width ?? 0) + 40);
  });

  test('the window keeps the selection in view', () => {
    expect(visibleWindow(5, 4, 10)).toEqual({ start: 0, end: 5 });
    expect(visibleWindow(100, 50, 10)).toEqual({ start: 45, end: 55 });
    expect(visibleWindow(100, 99, 10)).toEqual({ start: 90, end: 100 });
  });
});
