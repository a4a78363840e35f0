/**
 * The one key router: which row of the key table a key press means on the screen now shown. Pure:
 * it reads only the scopes the store says are on screen, so a key never depends on React having
 * rendered the screen before it (keys sent in one burst act on the state each key leaves).
 */
import type { KeyPress } from './keyName.js';
import { displayKey } from './keyName.js';
import { type ActionId, KEY_TABLE, type KeyRow, type Scope } from './table.js';

export interface Intent {
  action: ActionId;
  /** The scope whose row matched: tells the store which owner carries the action out. */
  scope: Scope;
  key: KeyPress;
  row: KeyRow;
}

const isPrintable = (k: KeyPress) => k.input !== '' && k.input === k.name && [...k.input].length === 1 && k.input >= ' ';

function matches(row: KeyRow, key: KeyPress): boolean {
  return row.keys.includes(key.name) || (row.keys.includes('printable') && isPrintable(key));
}

/** The row for `key` in the first scope (most specific first) that binds it; null when none does. */
export function routeKey(scopes: readonly Scope[], key: KeyPress, table: readonly KeyRow[] = KEY_TABLE): Intent | null {
  for (const scope of scopes) {
    const row = table.find((r) => r.scopes.includes(scope) && matches(r, key));
    if (row) return { action: row.action, scope, key, row };
  }
  return null;
}

/** Rows of these scopes, most specific scope first, each action once (the first row that binds it wins). */
export function rowsFor(scopes: readonly Scope[], table: readonly KeyRow[] = KEY_TABLE): KeyRow[] {
  const seen = new Set<string>();
  const rows: KeyRow[] = [];
  for (const scope of scopes) {
    for (const row of table) {
      if (!row.scopes.includes(scope)) continue;
      const id = `${row.action}:${row.keys.join(',')}`;
      if (seen.has(id)) continue;
      seen.add(id);
      rows.push(row);
    }
  }
  return rows;
}

export interface Hint {
  keys: string;
  hint: string;
}

/** How a row's keys are written in a hint: its `shown`, else its first key. */
export function shownKeys(row: KeyRow): string {
  return row.shown ?? displayKey(row.keys[0] ?? '');
}

/** Words a hint may name (`{what}`: the job on screen), filled in by the screen's owner. */
export type HintVars = Record<string, string>;

const DEFAULT_VARS: HintVars = { what: 'the job', yes: 'yes' };

function filled(hint: string, vars: HintVars): string {
  return hint.replace(/\{(\w+)\}/g, (_, name: string) => vars[name] ?? DEFAULT_VARS[name] ?? name);
}

/**
 * The hints for the screen on show: one per footer row of its scopes, in scope order. A key a
 * more specific scope took is not hinted again for a wider one.
 */
export function hintsFor(scopes: readonly Scope[], vars: HintVars = {}, table: readonly KeyRow[] = KEY_TABLE): Hint[] {
  const taken = new Set<string>();
  const hints: Hint[] = [];
  const seenHints = new Set<string>();
  for (const scope of scopes) {
    for (const row of table) {
      if (!row.scopes.includes(scope)) continue;
      const free = row.keys.some((k) => !taken.has(k));
      if (row.footer && free) {
        const h = { keys: shownKeys(row), hint: filled(row.hint, vars) };
        const id = `${h.keys} ${h.hint}`;
        if (!seenHints.has(id)) {
          seenHints.add(id);
          hints.push(h);
        }
      }
    }
    for (const row of table) if (row.scopes.includes(scope)) for (const k of row.keys) taken.add(k);
  }
  return hints;
}

/** A hint line as wizards print it: "Enter next   ↑↓ field   Esc back". */
export function hintLine(scopes: readonly Scope[], vars: HintVars = {}, table: readonly KeyRow[] = KEY_TABLE): string {
  return hintsFor(scopes, vars, table)
    .map((h) => (h.hint ? `${h.keys} ${h.hint}` : h.keys))
    .join('   ');
}

/** The help overlay's lines for these scopes: every key with its sentence and its `:` command. */
export function helpRows(scopes: readonly Scope[], table: readonly KeyRow[] = KEY_TABLE): { keys: string; description: string; command: string }[] {
  return rowsFor(scopes, table)
    .filter((r) => !r.keys.includes('printable'))
    .map((r) => ({
      keys: r.keys.map(displayKey).join(' '),
      description: r.description,
      command: r.command ? `:${r.command.name}${r.command.guest ? ' NAME' : ''}` : '',
    }));
}

export function commandRows(table: readonly KeyRow[] = KEY_TABLE): KeyRow[] {
  return table.filter((r) => r.command);
}

export interface ParsedCommand {
  binding: KeyRow;
  guest: string | null;
}

/** `:start web1` → the start row and guest "web1"; unknown names give null. */
export function parseCommand(line: string): ParsedCommand | null {
  const [word = '', ...rest] = line.trim().split(/\s+/);
  const name = word.toLowerCase();
  const row = commandRows().find((r) => r.command?.name === name || r.command?.aliases?.includes(name));
  if (!row) return null;
  const guest = rest.join(' ').trim();
  return { binding: row, guest: guest || null };
}

/**
 * Completions for what is typed after `:` — command names first, then guest names for commands that
 * take one, and for `:host` the names the host picker lists.
 */
export function completeCommand(line: string, guestNames: string[], hostNames: string[] = []): string[] {
  const m = line.match(/^(\S*)(\s+(.*))?$/);
  const word = (m?.[1] ?? '').toLowerCase();
  if (m?.[2] === undefined) {
    return commandRows()
      .map((r) => r.command?.name ?? '')
      .filter((n) => n.startsWith(word));
  }
  const parsed = parseCommand(word);
  const command = parsed?.binding.command;
  const names = command?.name === 'host' ? hostNames : command?.guest ? guestNames : [];
  const partial = m[3] ?? '';
  return names.filter((g) => g.startsWith(partial)).map((g) => `${command?.name} ${g}`);
}

export function commonPrefix(words: string[]): string {
  if (words.length === 0) return '';
  return words.reduce((p, w) => {
    let i = 0;
    while (i < p.length && p[i] === w[i]) i++;
    return p.slice(0, i);
  });
}
