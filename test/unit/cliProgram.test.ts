import { describe, expect, it } from 'vitest';
import { type CliDeps, runCli } from '../../src/cli/commands/program.js';
import type { Output } from '../../src/cli/output.js';
import type { HostContext } from '../../src/host/hostContext.js';
import { createFakeHost, type FakeGuest } from '../helpers/fakeHost.js';

interface Run {
  code: number;
  out: string;
  err: string;
  calls: string[][];
  uris: (string | undefined)[];
  events: string[];
}

function guests(): FakeGuest[] {
  return [
    { name: 'web', state: 'running', vcpus: 1, memoryMiB: 512, vncPort: 5901, autostart: true },
    { name: 'files', state: 'shut off', vcpus: 2, memoryMiB: 1024, macs: ['00:50:56:01:02:03'] },
    { name: 'stubborn', state: 'running', vcpus: 1, memoryMiB: 64, ignoresAcpi: true },
  ];
}

async function cli(argv: string[], list: FakeGuest[] = guests()): Promise<Run> {
  const fake = createFakeHost(list);
  let out = '';
  let err = '';
  const uris: (string | undefined)[] = [];
  const events: string[] = [];
  const output = (json: boolean): Output => ({
    json,
    out: (t) => {
      out += t.endsWith('\n') ? t : `${t}\n`;
    },
    err: (t) => {
      err += t.endsWith('\n') ? t : `${t}\n`;
    },
  });
  const deps: CliDeps = {
    version: '9.9.9',
    createHost: (o) => {
      uris.push(o.uri);
      return fake.host;
    },
    runTui: async (h: HostContext) => {
      events.push(`tui ${h.uri}`);
    },
    ensureDemo: async (_h, progress) => {
      events.push('ensureDemo');
      progress('demo-web: defined');
    },
    resetDemo: async () => {
      events.push('resetDemo');
      return ['Remove the guest demo-web', 'Delete demo-web.qcow2'];
    },
    output,
  };
  const code = await runCli(argv, deps);
  return { code, out, err, calls: fake.calls, uris, events };
}

const defined = (r: Run) => r.calls.filter((c) => c.includes('define'));

describe('virtdeck argv', () => {
  it('no arguments opens the console; --connect picks the host', async () => {
    const r = await cli(['--connect', 'qemu:///session']);
    expect(r.code).toBe(0);
    expect(r.events).toEqual(['tui qemu:///system']);
    expect(r.uris).toEqual(['qemu:///session']);
  });

  it('--demo prints progress before the console; --demo --reset only removes', async () => {
    const demo = await cli(['--demo']);
    expect(demo.events).toEqual(['ensureDemo', 'tui qemu:///system']);
    expect(demo.out).toContain('demo-web: defined');
    const reset = await cli(['--demo', '--reset']);
    expect(reset.events).toEqual(['resetDemo']);
    expect(reset.out).toBe('Remove the guest demo-web\nDelete demo-web.qcow2\n');
    expect((await cli(['--reset'])).code).toBe(2);
  });

  it.each([
    [['--version'], 0, /9\.9\.9/],
    [['--help'], 0, /Exit codes:/],
    [['guest', 'edit', '--help'], 0, /--mac <\[idx=\]mac\|generate\[:vmware\]>[\s\S]*Examples:/],
    [['guest', 'shutdown', '--help'], 0, /--force-after[\s\S]*Examples:[\s\S]*Exit codes:[\s\S]*3 {2}guest shutdown --force-after/],
  ])('%j exits %i with help text', async (argv, code, text) => {
    const r = await cli(argv);
    expect(r.code).toBe(code);
    expect(r.out).toMatch(text);
  });

  it.each([
    [['guest', 'lst'], /^virtdeck: Unknown command 'lst'\.\n {2}fix: Did you mean list\? Run `virtdeck guest --help`/],
    [['guest', 'start'], /Missing required argument 'name'\./],
    [['guest', 'edit', 'web', '--memroy', '1G'], /Unknown option '--memroy'[\s\S]*fix: Did you mean --memory\? Run `virtdeck guest edit --help`/],
    [['guest', 'reboot', 'a', 'b'], /Too many arguments/],
    [['guest', 'start', 'nosuch'], /There is no guest named "nosuch" on qemu:\/\/\/system\./],
    [['guest', 'autostart', 'web', 'maybe'], /"maybe" is neither on nor off/],
    [['guest', 'shutdown', 'web', '--timeout', 'soon'], /--timeout soon is not a whole number/],
    [['guest', 'edit', 'web', '--mac', '52:54:00:zz:00:01'], /"52:54:00:zz:00:01" is not a MAC address\.\n {2}fix: /],
    [['disk', 'expand', '/var/lib/libvirt/images/web.qcow2', '--size', '+100'], /The size "\+100" has no unit\.\n {2}fix: Add one: \+100M \(MiB\)/],
  ])('%j is bad usage: exit 2, one sentence and a fix, no stack', async (argv, message) => {
    const r = await cli(argv);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(message);
    expect(r.err).toMatch(/\n {2}fix: /);
    expect(r.err).not.toMatch(/\bat .+:\d+:\d+/);
    expect(defined(r)).toEqual([]);
  });
});

describe('virtdeck guest', () => {
  it('list prints a table; --json the rows', async () => {
    const table = await cli(['guest', 'list']);
    expect(table.out).toMatch(/^NAME\s+STATE/);
    expect(table.out).toMatch(/\nweb\s+running\s+1\s+512M\s+1 52:54:00:00:00:00 5901\s+yes\n/);
    const json = await cli(['guest', 'list', '--json']);
    const parsed = JSON.parse(json.out);
    expect(parsed.ok).toBe(true);
    expect(parsed.guests.map((g: { name: string }) => g.name)).toEqual(['files', 'stubborn', 'web']);
    expect(parsed.guests[0]).toMatchObject({ state: 'shut off', vcpus: 2, memoryKiB: 1048576 });
  });

  it('start and destroy are idempotent and report per guest', async () => {
    const r = await cli(['guest', 'start', 'files', 'web']);
    expect(r.code).toBe(0);
    expect(r.out).toBe('files: started\nweb: already running\n');
    const d = await cli(['guest', 'destroy', 'web', 'files', '--json']);
    expect(JSON.parse(d.out)).toEqual({
      ok: true,
      guests: [
        { name: 'web', result: 'forced off' },
        { name: 'files', result: 'already shut off' },
      ],
    });
  });

  it('shutdown: 0 when the guest obeys, 1 when it ignores ACPI, 3 when forced after the timeout', async () => {
    expect((await cli(['guest', 'shutdown', 'web', '--timeout', '1'])).code).toBe(0);
    const stuck = await cli(['guest', 'shutdown', 'stubborn', '--timeout', '1']);
    expect(stuck.code).toBe(1);
    expect(stuck.err).toMatch(/stubborn did not shut down within 1 s; it is still running\.\n {2}fix: .*--force-after/);
    const list = guests();
    const forced = await cli(['guest', 'shutdown', 'web', 'stubborn', '--timeout', '1', '--force-after'], list);
    expect(forced.code).toBe(3);
    expect(forced.out).toMatch(/web: shut off\nstubborn: forced off/);
    expect(list.find((g) => g.name === 'stubborn')?.state).toBe('shut off');
  });

  it('a failure on the host exits 1 with the JSON error shape', async () => {
    const fake = createFakeHost(guests(), { failOn: { start: 'error: Failed to start domain files\nerror: internal error: no space' } });
    let out = '';
    const code = await runCli(['--json', 'guest', 'start', 'files'], {
      version: '0',
      createHost: () => fake.host,
      runTui: async () => {},
      ensureDemo: async () => {},
      resetDemo: async () => [],
      output: (json) => ({ json, out: (t) => (out += t), err: () => {} }),
    });
    expect(code).toBe(1);
    const parsed = JSON.parse(out);
    expect(parsed.ok).toBe(false);
    expect(parsed.error.sentence).toMatch(/Failed to start domain files/);
    expect(parsed.error.stderr).toMatch(/no space/);
    expect(parsed.error.command).toContain('start');
  });

  it('undefine refuses without --yes, naming what it would remove, and refuses a running guest', async () => {
    const list = guests();
    const r = await cli(['guest', 'undefine', 'files', '--remove-disks'], list);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/This would remove the definition of files and its disks \/var\/lib\/libvirt\/images\/files-vda\.qcow2\./);
    expect(r.err).toMatch(/fix: Add --yes/);
    expect(list).toHaveLength(3);
    expect((await cli(['guest', 'undefine', 'web', '--yes'], list)).code).toBe(2);
    const ok = await cli(['guest', 'undefine', 'files', '--yes'], list);
    expect(ok.code).toBe(0);
    expect(list.map((g) => g.name)).not.toContain('files');
  });

  it('edit --dry-run prints the diff and defines nothing; without it defines validated XML', async () => {
    const dry = await cli(['guest', 'edit', 'files', '--mac', '52:54:00:aa:bb:cc', '--vnc', '5910', '--boot', 'cdrom,hd', '--dry-run']);
    expect(dry.code).toBe(0);
    expect(dry.out).toMatch(/^--- files\.xml\n\+\+\+ files\.xml \(edited\)\n@@/);
    expect(dry.out).toMatch(/^-.*00:50:56:01:02:03/m);
    expect(dry.out).toMatch(/^\+.*52:54:00:aa:bb:cc/m);
    expect(dry.out).toMatch(/^\+.*port="5910"|^\+.*port='5910'/m);
    expect(dry.out).toMatch(/files: dry run: nothing defined\n$/);
    expect(defined(dry)).toEqual([]);

    const list = guests();
    const real = await cli(['guest', 'edit', 'files', '--memory', '256M', '--json'], list);
    expect(real.code).toBe(0);
    const result = JSON.parse(real.out).guests[0];
    expect(result).toMatchObject({ name: 'files', result: 'defined', changes: ['memory 262144 KiB'], dryRun: false });
    expect(defined(real)).toHaveLength(1);
    expect(defined(real)[0]).toContain('--validate');
    expect(list.find((g) => g.name === 'files')?.memoryMiB).toBe(256);
  });

  it('edit of a running guest says when it applies; an unchanged value says so', async () => {
    const r = await cli(['guest', 'edit', 'web', '--vcpus', '2']);
    expect(r.out).toMatch(/web: defined; applies at the next start/);
    const same = await cli(['guest', 'edit', 'web', '--vcpus', '1']);
    expect(same.out).toBe('web: nothing changed (vcpus 1 already set)\n');
    expect(defined(same)).toEqual([]);
  });

  it('edit of an unknown guest is exit 2', async () => {
    const r = await cli(['guest', 'edit', 'nosuch', '--vcpus', '2']);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/no guest named "nosuch"/);
  });

  it('xml prints the domain XML', async () => {
    const r = await cli(['guest', 'xml', 'files', '--inactive']);
    expect(r.out).toMatch(/^<domain type='qemu'>/);
    expect(r.calls.some((c) => c.includes('--inactive'))).toBe(true);
  });
});

describe('namesCommand: the command groups load only for a command or help', () => {
  it('the console (no command, --connect URI, --demo) does not load them; a command, help and -- do', async () => {
    const { namesCommand } = await import('../../src/cli/commands/program.js');
    expect(namesCommand([])).toBe(false);
    expect(namesCommand(['--connect', 'qemu+ssh://root@h/system'])).toBe(false);
    expect(namesCommand(['-c', 'test:///default', '--demo'])).toBe(false);
    expect(namesCommand(['--connect=test:///default'])).toBe(false);
    expect(namesCommand(['disk', 'convert', 'a', 'b'])).toBe(true);
    expect(namesCommand(['-c', 'test:///default', 'backup', 'run'])).toBe(true);
    expect(namesCommand(['--help'])).toBe(true);
    expect(namesCommand(['-h'])).toBe(true);
    expect(namesCommand(['help'])).toBe(true);
    expect(namesCommand(['--', 'disk'])).toBe(true);
  });
});
