import { describe, expect, it } from 'vitest';
import { joinPath, parseListing } from '../../src/host/dirListing.js';
import { filesKey, type HostFiles } from '../../src/store/wizards/hostFiles.js';
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

describe('the host file browser as pure steps', () => {
  const files: HostFiles = { dir: '/vm', entries: parseListing('w2k3/\nw2k3.vmx\nnotes.txt\n', '/vm'), cursor: 0, error: '', accept: /\.vmx$/i };
  const at = (name: string) => ({ ...files, cursor: files.entries?.findIndex((e) => e.name === name) ?? 0 });
  it('lists directories first with .. on top', () => {
    expect(files.entries?.map((e) => e.name)).toEqual(['..', 'w2k3', 'notes.txt', 'w2k3.vmx']);
    expect(joinPath('/vm', '..')).toBe('/');
  });
  it('Enter opens a directory or picks an accepted file; → only opens; ← and ~ leave', () => {
    expect(filesKey(at('w2k3'), 'browseOpen', 'right', 10).open).toBe('/vm/w2k3');
    expect(filesKey(at('w2k3.vmx'), 'browseOpen', 'enter', 10).pick).toBe('/vm/w2k3.vmx');
    expect(filesKey(at('w2k3.vmx'), 'browseOpen', 'right', 10).pick).toBeUndefined();
    expect(filesKey(at('notes.txt'), 'browseOpen', 'enter', 10).pick).toBeUndefined();
    expect(filesKey(files, 'browseParent', 'left', 10).open).toBe('/');
    expect(filesKey(files, 'browseRoot', '~', 10).open).toBe('/');
  });
  it('the cursor stays on the list', () => {
    expect(filesKey(files, 'itemUp', 'up', 10).files.cursor).toBe(0);
    expect(filesKey(files, 'pageDown', 'pagedown', 10).files.cursor).toBe(3);
  });
});
