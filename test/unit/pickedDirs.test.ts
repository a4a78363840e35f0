import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { lastPickedDir, rememberPickedDir } from '../../src/config/pickedDirs.js';

let dir = '';
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('the directory a file was last picked from', () => {
  it('is kept per host, privately, in the state directory', () => {
    dir = mkdtempSync(join(tmpdir(), 'vd-picked-'));
    const state = join(dir, 'state');
    expect(lastPickedDir(state, 'host1')).toBeNull();
    rememberPickedDir(state, 'host1', '/vm/w2k3');
    rememberPickedDir(state, 'host2', '/srv');
    expect(lastPickedDir(state, 'host1')).toBe('/vm/w2k3');
    expect(lastPickedDir(state, 'host2')).toBe('/srv');
    expect(statSync(join(state, 'picked-dirs.json')).mode & 0o777).toBe(0o600);
    expect(statSync(state).mode & 0o777).toBe(0o700);
    expect(JSON.parse(readFileSync(join(state, 'picked-dirs.json'), 'utf8'))).toEqual({ dirs: { host1: '/vm/w2k3', host2: '/srv' } });
  });
  it('a damaged file is as good as none', () => {
    dir = mkdtempSync(join(tmpdir(), 'vd-picked-'));
    writeFileSync(join(dir, 'picked-dirs.json'), '{"dirs":{"h":"relative"}}');
    expect(lastPickedDir(dir, 'h')).toBeNull();
  });
});
