import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configHosts, resolveHost } from '../../src/config/resolveHost.js';
import { UserError } from '../../src/model/userError.js';

const hosts = [
  { name: 'host1', uri: 'qemu+ssh://root@host1/system' },
  { name: 'lab', uri: 'qemu+ssh://root@10.0.0.9:2222/system?keyfile=/root/.ssh/lab', ssh: { destination: 'root@10.0.0.9', port: 2222 } },
];
const broken = new UserError('The config file /etc/virtdeck/config.json is not valid JSON (Unexpected end).', 'Fix the syntax, or delete the file to start again from the defaults.');

describe('resolveHost: a config name or a URI, for --connect and :host alike', () => {
  it('a name from the config file brings its entry and is trusted', () => {
    expect(resolveHost('host1', hosts, '--connect')).toEqual({ uri: 'qemu+ssh://root@host1/system', name: 'host1', fromConfig: true });
    expect(resolveHost(' lab ', hosts, 'the host field')).toEqual({
      uri: 'qemu+ssh://root@10.0.0.9:2222/system?keyfile=/root/.ssh/lab',
      name: 'lab',
      fromConfig: true,
      ssh: { destination: 'root@10.0.0.9', port: 2222 },
    });
  });

  it('a URI written in the config file brings its entry and is trusted like it', () => {
    expect(resolveHost('qemu+ssh://root@10.0.0.9:2222/system?keyfile=/root/.ssh/lab', hosts, '--connect')).toEqual({
      uri: 'qemu+ssh://root@10.0.0.9:2222/system?keyfile=/root/.ssh/lab',
      name: 'lab',
      fromConfig: true,
      ssh: { destination: 'root@10.0.0.9', port: 2222 },
    });
  });

  it('any other URI is outside text, named by where it came from (checked later by createHostContext)', () => {
    expect(resolveHost('qemu+ssh://root@host2/system', hosts, 'the host field')).toEqual({ uri: 'qemu+ssh://root@host2/system', where: 'the host field' });
    expect(resolveHost('qemu:///system', [], '$LIBVIRT_DEFAULT_URI')).toEqual({ uri: 'qemu:///system', where: '$LIBVIRT_DEFAULT_URI' });
  });

  it('an unknown name is refused with the sentence the console gives, and how to add it', () => {
    const r = resolveHost('nosuch', hosts, '--connect');
    expect(r).toBeInstanceOf(UserError);
    expect((r as UserError).sentence).toBe('There is no host "nosuch" in the config file.');
    expect((r as UserError).fix).toBe('Add it under "hosts" (name, uri), or give a URI such as qemu+ssh://root@nosuch/system.');
  });

  it('a name that carries control characters is shown, not obeyed', () => {
    const r = resolveHost('a\u001b]2;x\u0007', [], '--connect') as UserError;
    expect(r.sentence).not.toMatch(/\u001b/);
    expect(r.sentence).toContain('\\x1b');
  });

  it('a broken config file does not block a plain URI, but refuses a name with its own sentence', () => {
    expect(resolveHost('qemu:///system', broken, '--connect')).toEqual({ uri: 'qemu:///system', where: '--connect' });
    expect(resolveHost('host1', broken, '--connect')).toBe(broken);
  });
});

describe('configHosts', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vdtest-resolve-host-'));
    await chmod(dir, 0o700);
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('reads the hosts of the file; a missing file has none', async () => {
    const file = join(dir, 'ok.json');
    await writeFile(file, JSON.stringify({ hosts }), { mode: 0o600 });
    expect(configHosts(file)).toEqual(hosts);
    expect(configHosts(join(dir, 'none.json'))).toEqual([]);
  });

  it('a broken file is its UserError, not a throw', async () => {
    const file = join(dir, 'broken.json');
    await writeFile(file, '{"hosts": [', { mode: 0o600 });
    const r = configHosts(file);
    expect(r).toBeInstanceOf(UserError);
    expect((r as UserError).sentence).toMatch(/not valid JSON/);
  });
});
