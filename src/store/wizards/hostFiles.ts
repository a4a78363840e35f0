/**
 * Picking a file on the host (the import wizard's .vmx): a Path field over the directory shown,
 * its entries and the highlighted one. Like a shell: a typed path is taken as typed (`~` is the
 * host's $HOME, a relative one starts in the directory shown), Tab completes the last name to the
 * longest common prefix and lists the names when that is ambiguous. Pure steps; what needs the
 * host (reading a directory, what a path is, $HOME) is done by the wizard's store.
 */
import { posix } from 'node:path';
import { type DirEntry, joinPath } from '../../host/dirListing.js';
import { type Form, formKey, makeForm } from '../form.js';
import type { Intent } from '../keys/router.js';
import { commonPrefix } from '../keys/router.js';
import type { Scope } from '../keys/table.js';

export interface HostFiles {
  dir: string;
  /** Null while the directory is being read. */
  entries: DirEntry[] | null;
  /** Index into the entries shown (shownEntries). */
  cursor: number;
  error: string;
  /** Files the picker offers (the others are shown dimmed). */
  accept: RegExp;
  /** The Path field: what Enter takes once something was typed, what Tab completes. */
  path: Form;
  /**
   * False while the field holds what the list shows (the directory, or the highlighted entry):
   * then ← and Backspace go to the parent and a typed name starts in the directory shown.
   */
  edited: boolean;
  /** After an ambiguous Tab: only the names starting with this are listed. */
  only: string;
}

/** A directory as the field shows it: with its trailing slash, so a typed name goes inside it. */
export function withSlash(dir: string): string {
  return dir.endsWith('/') ? dir : `${dir}/`;
}

function pathField(value: string): Form {
  return makeForm([{ id: 'path', label: 'Path', kind: 'text', value, hint: 'Tab completes' }]);
}

export function pathValue(files: HostFiles): string {
  return files.path.fields[0]?.value ?? '';
}

export function withPath(files: HostFiles, value: string, edited: boolean): HostFiles {
  return { ...files, path: pathField(value), edited };
}

export function newFiles(dir: string, accept: RegExp): HostFiles {
  return openDir({ dir, entries: null, cursor: 0, error: '', accept, path: pathField(''), edited: false, only: '' }, dir);
}

export function openDir(files: HostFiles, dir: string, only = ''): HostFiles {
  return { ...files, dir, entries: null, cursor: 0, error: '', path: pathField(withSlash(dir)), edited: false, only };
}

export function pickable(files: HostFiles, e: DirEntry): boolean {
  return e.dir || files.accept.test(e.name);
}

/** The entries listed: all of them, or after an ambiguous Tab the names that matched. */
export function shownEntries(files: HostFiles): DirEntry[] {
  const all = files.entries ?? [];
  return files.only ? all.filter((e) => e.name !== '..' && e.name.startsWith(files.only)) : all;
}

/** Untouched, the list's keys come first (← parent); once typed in, the field's (← moves the cursor). */
export function filesScopes(files: HostFiles): Scope[] {
  return files.edited ? ['form:text', 'wizard:files'] : ['wizard:files', 'form:text'];
}

/** A typed path made absolute: `~` and `~/…` are under `home`, anything relative is under `dir`. */
export function expandPath(typed: string, dir: string, home: string): string {
  const t = typed.trim();
  const abs = t === '~' ? home : t.startsWith('~/') ? `${home}/${t.slice(2)}` : t.startsWith('/') ? t : `${withSlash(dir)}${t}`;
  const n = posix.normalize(abs);
  return n.length > 1 ? n.replace(/\/+$/, '') : n;
}

/** Needs the host's $HOME to be read first. */
export function needsHome(typed: string): boolean {
  const t = typed.trim();
  return t === '~' || t.startsWith('~/');
}

/** The typed text split at its last slash: the directory part as typed and the name being typed. */
export function splitTyped(typed: string): { head: string; base: string } {
  if (typed.trim() === '~') return { head: '~/', base: '' };
  const at = typed.lastIndexOf('/');
  return { head: typed.slice(0, at + 1), base: typed.slice(at + 1) };
}

export type Completion =
  /** Nothing starts with the name typed. */
  | { kind: 'none'; base: string }
  /** The field's new text; `open` when it now names one directory (the list follows it). */
  | { kind: 'done'; value: string; open: boolean }
  /** Several names: the field grew to their common prefix, and they are listed. */
  | { kind: 'many'; value: string; only: string; count: number };

/** Tab on `typed`, given the entries of the directory its head names. */
export function complete(typed: string, entries: readonly DirEntry[]): Completion {
  const { head, base } = splitTyped(typed);
  // As in a shell, hidden names are offered only once a dot is typed.
  const hits = entries.filter((e) => e.name !== '..' && e.name.startsWith(base) && (base.startsWith('.') || !e.name.startsWith('.')));
  const [one] = hits;
  if (!one) return { kind: 'none', base };
  if (hits.length === 1) return { kind: 'done', value: `${head}${one.name}${one.dir ? '/' : ''}`, open: one.dir };
  const prefix = commonPrefix(hits.map((e) => e.name));
  return { kind: 'many', value: `${head}${prefix}`, only: prefix, count: hits.length };
}

export type FilesMove = {
  files: HostFiles;
  /** A directory to list. */
  open?: string;
  /** Find out what this (typed or highlighted) path is, then open or pick it, or say why not. */
  take?: string;
  /** Complete the field's text (needs the directory its head names). */
  complete?: true;
  /** List the host's $HOME. */
  home?: true;
};

/** The highlighted entry as a path, with a slash when it is a directory. */
function entryPath(files: HostFiles, e: DirEntry): string {
  const p = joinPath(files.dir, e.name);
  return e.dir ? withSlash(p) : p;
}

/** Typing moves the highlight to the first name that starts with what is typed in the directory shown. */
function follow(files: HostFiles): HostFiles {
  const { head, base } = splitTyped(pathValue(files));
  if (!base || !head.startsWith('/') || posix.normalize(head) !== withSlash(files.dir)) return files;
  const at = shownEntries(files).findIndex((e) => e.name !== '..' && e.name.startsWith(base));
  return at >= 0 ? { ...files, cursor: at } : files;
}

/** A routed key on the picker: the field edited, the highlight moved, or something for the host to do. */
export function filesKey(files: HostFiles, intent: Pick<Intent, 'action' | 'key'>, page: number): FilesMove {
  const { action } = intent;
  const shown = shownEntries(files);
  const move = (to: number): FilesMove => {
    if (!files.entries || shown.length === 0) return { files };
    const cursor = Math.max(0, Math.min(shown.length - 1, to));
    const e = shown[cursor] as DirEntry;
    return { files: { ...withPath(files, entryPath(files, e), false), cursor } };
  };
  switch (action) {
    case 'itemDown':
      return move(files.cursor + 1);
    case 'itemUp':
      return move(files.cursor - 1);
    case 'pageDown':
      return move(files.cursor + page);
    case 'pageUp':
      return move(files.cursor - page);
    case 'browseParent':
      return { files, open: joinPath(files.dir, '..') };
    case 'browseComplete':
      return { files, complete: true };
    case 'browseOpen': {
      if (files.edited) return { files, take: pathValue(files) };
      const e = files.entries ? shown[files.cursor] : undefined;
      if (!e) return { files, take: pathValue(files) };
      // → only opens directories; Enter takes the highlighted entry, whatever it is.
      if (intent.key.name !== 'enter') return e.dir ? { files, open: joinPath(files.dir, e.name) } : { files };
      return { files, take: entryPath(files, e) };
    }
    case 'type':
      if (!files.edited) {
        // Untouched, `~` goes home and `/` starts a path from the root; anything else starts a name here.
        if (intent.key.input === '~') return { files, home: true };
        const start = intent.key.input === '/' ? '/' : `${withSlash(files.dir)}${intent.key.input}`;
        return { files: follow(withPath(files, start, true)) };
      }
      break;
  }
  const path = formKey(files.path, intent);
  if (path === files.path) return { files };
  return { files: follow({ ...files, path, edited: true }) };
}
