import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultConfig, loadConfig, parseConfig } from '../../src/config/config.js';
import { createHostContext, parseLibvirtUri, resolveUri } from '../../src/config/connect.js';
import { configDir, configFile, stateDir } from '../../src/config/paths.js';
import { LocalExecutor, SshExecutor } from '../../src/host/exec.js';
import { UserError } from '../../src/model/userError.js';
import { catchUserError } from '../helpers/userError.js';

describe('paths', () => {
  it.each([
    [{ VIRTDECK_HOME: '/t/vd' }, 0, '/t/vd/config', '/t/vd/state'],
    [{ VIRTDECK_HOME: '/t/vd' }, 1000, '/t/vd/config', '/t/vd/state'],
    [{}, 0, '/etc/virtdeck', '/var/lib/virtdeck'],
    [{ XDG_CONFIG_HOME: '/x/c', XDG_STATE_HOME: '/x/s' }, 1000, '/x/c/virtdeck', '/x/s/virtdeck'],
    [{}, 1000, '/home/u/.config/virtdeck', '/home/u/.local/state/virtdeck'],
    [{ XDG_CONFIG_HOME: 'relative' }, 1000, '/home/u/.config/virtdeck', '/home/u/.local/state/virtdeck'],
  ])('env %j uid %i', (env, uid, config, state) => {
    expect(configDir({ env, uid, home: '/home/u' })).toBe(config);
    expect(stateDir({ env, uid, home: '/home/u' })).toBe(state);
  });

  it('puts config.json in the config dir', () => {
    expect(configFile({ env: { VIRTDECK_HOME: '/v' } })).toBe('/v/config/config.json');
  });
});

describe('config', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vdtest-demo-config-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('uses the defaults when there is no file', async () => {
    expect(loadConfig(join(dir, 'none.json'))).toEqual(defaultConfig());
    expect(defaultConfig()).toEqual({ hosts: [], imageDirs: ['/var/lib/libvirt/images'] });
  });

  it('reads hosts and keeps keys owned by other features', async () => {
    const file = join(dir, 'ok.json');
    const body = {
      hosts: [{ name: 'h1', uri: 'qemu+ssh://root@h1/system', ssh: { destination: 'root@h1', port: 2222 } }],
      demoDir: '/srv/demo',
      backups: { destinations: ['/backup'] },
    };
    await writeFile(file, JSON.stringify(body));
    const c = loadConfig(file);
    expect(c.hosts[0]?.ssh?.port).toBe(2222);
    expect(c.imageDirs).toEqual(['/var/lib/libvirt/images']);
    expect(c.demoDir).toBe('/srv/demo');
    expect((c as Record<string, unknown>).backups).toEqual({ destinations: ['/backup'] });
  });

  it('names the file, the place and the fix for broken JSON', () => {
    const e = catchUserError(() => parseConfig('{"hosts": [', '/etc/virtdeck/config.json'));
    expect(e.sentence).toMatch(/^The config file \/etc\/virtdeck\/config.json is not valid JSON/);
    expect(e.fix).toMatch(/delete the file/);
  });

  it('names the bad field', () => {
    const e = catchUserError(() => parseConfig('{"hosts":[{"name":"a","uri":"host1"}]}', '/c.json'));
    expect(e.sentence).toContain('hosts.0.uri');
    expect(e.fix).toContain('/c.json');
    const p = catchUserError(() => parseConfig('{"hosts":[{"name":"a","uri":"qemu:///system","ssh":{"destination":"x","port":0}}]}', '/c.json'));
    expect(p.sentence).toContain('hosts.0.ssh.port');
  });
});

describe('connect', () => {
  it('picks --connect, then LIBVIRT_DEFAULT_URI, then qemu:///system', () => {
    expect(resolveUri('qemu+ssh://h/system', { LIBVIRT_DEFAULT_URI: 'test:///default' })).toBe('qemu+ssh://h/system');
    expect(resolveUri(undefined, { LIBVIRT_DEFAULT_URI: 'test:///default' })).toBe('test:///default');
    expect(resolveUri(undefined, {})).toBe('qemu:///system');
  });

  it('parses remote URIs', () => {
    expect(parseLibvirtUri('qemu+ssh://admin@host1:2222/system?keyfile=/k/id')).toEqual({
      driver: 'qemu',
      transport: 'ssh',
      host: 'host1',
      user: 'admin',
      port: 2222,
      keyfile: '/k/id',
    });
    expect(parseLibvirtUri('qemu:///system')).toMatchObject({ driver: 'qemu', transport: null, host: null });
    expect(() => parseLibvirtUri('not a uri')).toThrow(UserError);
  });

  it('runs everything locally for a local URI', () => {
    const h = createHostContext({ uri: 'qemu:///system', name: 'here' });
    expect(h).toMatchObject({ name: 'here', uri: 'qemu:///system' });
    expect(h.virshExec).toBeInstanceOf(LocalExecutor);
    expect(h.sysExec).toBeInstanceOf(LocalExecutor);
  });

  it('reaches files of a qemu+ssh host over SSH while virsh stays local', () => {
    const h = createHostContext({ uri: 'qemu+ssh://root@host1/system' });
    expect(h.name).toBe('host1');
    expect(h.virshExec).toBeInstanceOf(LocalExecutor);
    expect(h.sysExec).toBeInstanceOf(SshExecutor);
    expect(h.sysExec.label).toBe('root@host1');
  });

  it('refuses a remote URI without an SSH route, unless the config gives one', () => {
    expect(() => createHostContext({ uri: 'qemu+tcp://host1/system' })).toThrow(/over SSH/);
    const h = createHostContext({ uri: 'qemu+tcp://host1/system', ssh: { destination: 'root@host1' } });
    expect(h.sysExec.label).toBe('root@host1');
  });
});
