import { describe, expect, it } from 'vitest';
import { joinPath, parseListing } from '../../src/host/dirListing.js';
import type { ActionId } from '../../src/store/keys/table.js';
import { complete, expandPath, filesKey, filesScopes, type HostFiles, newFiles, pathValue, shownEntries } from '../../src/store/wizards/hostFiles.js';
import { pageLines, pageMax } from '../../src/store/wizards/page.js';

describe('a wizard page in the store', () => {
  it('wraps long lines at spaces, the mark on the first piece only', () => {
    // A marked line leaves two columns for its symbol.
    const lines = pageLines([{ text: 'one two three four five six', mark: 'warn' }, 'short'], 16);
    expect(lines).toEqual([{ text: 'one two three', mark: 'warn' }, { text: '    four five' }, { text: '    six' }, { text: 'short' }]);
    expect(pageMax(lines, 3)).toBe(1);
    expect(pageMax(lines, 12)).toBe(0);
  });
});

describe('the host file picker as pure steps', () => {
  const listed = parseListing('w2k3/\nw2k3.vmx\nnotes.txt\n.hidden\n', '/vm');
  const files: HostFiles = { ...newFiles('/vm', /\.vmx$/i), entries: listed };
  const at = (name: string) => ({ ...files, cursor: files.entries?.findIndex((e) => e.name === name) ?? 0 });
  const key = (name: string, action: string, input = '') => ({ action: action as ActionId, key: { name, input } });
  it('lists directories first with .. on top', () => {
    expect(files.entries?.map((e) => e.name)).toEqual(['..', 'w2k3', '.hidden', 'notes.txt', 'w2k3.vmx']);
    expect(joinPath('/vm', '..')).toBe('/');
  });
  it('Enter takes the highlighted entry, whatever it is (the store says why a file is refused); → only opens; ← leaves', () => {
    expect(filesKey(at('w2k3'), key('right', 'browseOpen'), 10).open).toBe('/vm/w2k3');
    expect(filesKey(at('w2k3.vmx'), key('enter', 'browseOpen'), 10).take).toBe('/vm/w2k3.vmx');
    expect(filesKey(at('w2k3.vmx'), key('right', 'browseOpen'), 10).take).toBeUndefined();
    expect(filesKey(at('notes.txt'), key('enter', 'browseOpen'), 10).take).toBe('/vm/notes.txt');
    expect(filesKey(files, key('left', 'browseParent'), 10).open).toBe('/');
  });
  it('untouched, ~ goes home and / starts from the root; a typed path is what Enter takes', () => {
    expect(filesKey(files, key('~', 'type', '~'), 10).home).toBe(true);
    expect(pathValue(filesKey(files, key('/', 'type', '/'), 10).files)).toBe('/');
    const typed = filesKey(files, key('n', 'type', 'n'), 10).files;
    expect(pathValue(typed)).toBe('/vm/n');
    // The highlight follows the name typed.
    expect(shownEntries(typed)[typed.cursor]?.name).toBe('notes.txt');
    expect(filesScopes(typed)[0]).toBe('form:text');
    expect(filesKey(typed, key('enter', 'browseOpen'), 10).take).toBe('/vm/n');
    // Once typed in, ← moves the cursor in the field and ~ is a letter.
    expect(filesKey(typed, key('~', 'type', '~'), 10).home).toBeUndefined();
  });
  it('the highlight moves the field with it and stays on the list', () => {
    expect(filesKey(files, key('up', 'itemUp'), 10).files.cursor).toBe(0);
    const down = filesKey(files, key('pagedown', 'pageDown'), 10).files;
    expect(down.cursor).toBe(4);
    expect(pathValue(down)).toBe('/vm/w2k3.vmx');
    expect(pathValue(filesKey(files, key('down', 'itemDown'), 10).files)).toBe('/vm/w2k3/');
  });
  it('expands ~ and relative paths', () => {
    expect(expandPath('~', '/vm', '/root')).toBe('/root');
    expect(expandPath('~/vms/', '/vm', '/root')).toBe('/root/vms');
    expect(expandPath('w2k3/../x.vmx', '/vm', '/root')).toBe('/vm/x.vmx');
    expect(expandPath('//etc//', '/vm', '/root')).toBe('/etc');
  });
  it('Tab completes like a shell: the one name, else the common prefix and the names listed', () => {
    expect(complete('/vm/w2k3.v', listed)).toEqual({ kind: 'done', value: '/vm/w2k3.vmx', open: false });
    expect(complete('w2', listed)).toEqual({ kind: 'many', value: 'w2k3', only: 'w2k3', count: 2 });
    expect(complete('~/w2k3/'.slice(0, 3), listed)).toEqual({ kind: 'many', value: '~/w2k3', only: 'w2k3', count: 2 });
    expect(complete('/vm/x', listed)).toEqual({ kind: 'none', base: 'x' });
    // Hidden names only once a dot is typed.
    expect(complete('', listed)).toMatchObject({ kind: 'many', count: 3 });
    expect(complete('.h', listed)).toEqual({ kind: 'done', value: '.hidden', open: false });
    expect(complete('~', listed)).toMatchObject({ kind: 'many', value: '~/' });
  });
});
