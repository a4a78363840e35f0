import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.js';
import { saveBackupDestination } from '../../src/config/configWrite.js';
import { loadBackupConfig } from '../../src/jobs/backup.js';
import { UserError } from '../../src/model/userError.js';

describe('saving the backup destination to the config file', () => {
  let dir: string;
  let file: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'vdtest-cfgw-'));
    file = join(dir, 'config', 'config.json');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('creates a missing file 0600 in a 0700 directory, and a new load starts on it', () => {
    expect(saveBackupDestination('/mnt/backup', file)).toBe(file);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir, 'config')).mode & 0o777).toBe(0o700);
    expect(loadBackupConfig(file)).toMatchObject({ defaultDestination: '/mnt/backup', destinations: ['/mnt/backup'] });
    expect(readdirSync(join(dir, 'config'))).toEqual(['config.json']);
  });

  it('keeps every other key, known or not, and lists the destination once', () => {
    mkdirSync(join(dir, 'config'), { mode: 0o700 });
    const before = { hosts: [{ name: 'h1', uri: 'qemu+ssh://root@h1/system' }], imageDirs: ['/srv/vm'], future: { x: 1 }, backup: { destinations: ['/mnt/a', '/mnt/b'], retention: { keepDaily: 7 }, schedule: { when: '0 3 * * *' } } };
    writeFileSync(file, JSON.stringify(before), { mode: 0o600 });
    saveBackupDestination('/mnt/b', file);
    const after = JSON.parse(readFileSync(file, 'utf8'));
    expect(after).toEqual({ ...before, backup: { ...before.backup, defaultDestination: '/mnt/b' } });
    expect(loadConfig(file).imageDirs).toEqual(['/srv/vm']);
    expect(statSync(file).mode & 0o777).toBe(0o600);
  });

  it('leaves a file it cannot read as JSON as it was', () => {
    mkdirSync(join(dir, 'config'), { mode: 0o700 });
    writeFileSync(file, '{ "imageDirs": [', { mode: 0o600 });
    expect(() => saveBackupDestination('/mnt/b', file)).toThrow(UserError);
    expect(() => saveBackupDestination('/mnt/b', file)).toThrow(/is not valid JSON .* so it is not changed/);
    expect(readFileSync(file, 'utf8')).toBe('{ "imageDirs": [');
  });

  it('refuses a config file others can write, and a result virtdeck would refuse to load', () => {
    mkdirSync(join(dir, 'config'), { mode: 0o700 });
    writeFileSync(file, JSON.stringify({ backup: {} }), { mode: 0o600 });
    chmodSync(file, 0o666);
    expect(() => saveBackupDestination('/mnt/b', file)).toThrow(/can be written by group or others/);
    chmodSync(file, 0o600);
    writeFileSync(file, JSON.stringify({ backup: { retention: { keepDaily: -1 } } }));
    expect(() => saveBackupDestination('/mnt/b', file)).toThrow(/bad value at backup.retention.keepDaily/);
    expect(JSON.parse(readFileSync(file, 'utf8')).backup.defaultDestination).toBeUndefined();
    expect(() => saveBackupDestination('relative', file)).toThrow(/not an absolute path/);
  });
});
