import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { paneScopes } from '../../src/store/keys/owners.js';
import { routeKey } from '../../src/store/keys/router.js';
import type { PaneId } from '../../src/store/paneIds.js';

/** The README's key table is the contract: every key it names for a pane is a row of the key table there. */
const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
const panes: Record<string, PaneId> = { Guests: 'guests', Disks: 'disks', Backups: 'backups', Host: 'host', Jobs: 'jobs' };

function keysOf(cell: string): string[] {
  // `s` start · `S` shutdown (asks …) · `t`/`T`/`X` snapshot …: the keys before each description, not those in parentheses.
  const outside = cell.replace(/\([^)]*\)/g, '');
  return [...outside.matchAll(/`([^`]+)`/g)].map((m) => (m[1] === 'Enter' ? 'enter' : (m[1] as string))).filter((k) => !k.startsWith('$'));
}

describe('README key table', () => {
  for (const [title, pane] of Object.entries(panes)) {
    it(`every ${title} key it lists works in that pane`, () => {
      const row = readme.split('\n').find((l) => l.startsWith(`| ${title} |`));
      expect(row, `README row for ${title}`).toBeDefined();
      const keys = keysOf(row?.split('|')[2] ?? '');
      expect(keys.length).toBeGreaterThan(3);
      for (const k of keys) expect(routeKey(paneScopes(pane), { name: k, input: k.length === 1 ? k : '' }), `${title}: ${k}`).not.toBeNull();
    });
  }
  it('the keys of every pane work in every pane', () => {
    for (const k of ['1', '5', 'tab', 'h', 'l', 'up', 'down', 'j', 'k', 'g', 'G', ':', 'H', '?', 'q']) {
      for (const pane of Object.values(panes)) expect(routeKey(paneScopes(pane), { name: k, input: k.length === 1 ? k : '' }), `${pane}: ${k}`).not.toBeNull();
    }
  });
});
