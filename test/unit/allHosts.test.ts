import { describe, expect, it } from 'vitest';
import { type CliDeps, runCli } from '../../src/cli/commands/program.js';
import { formatGuestTable, type Output } from '../../src/cli/output.js';
import type { ExecOptions, ExecResult, Executor } from '../../src/host/exec.js';
import type { HostContext } from '../../src/host/hostContext.js';
import { listOnEveryHost, listWithin } from '../../src/host/hostRound.js';
import { hostsAnswering, otherHosts, tagRows } from '../../src/store/allHosts.js';
import { guestColumns } from '../../src/ui/panes/guestTable.js';
import { hostWidth, jobHeader, jobHostName } from '../../src/ui/panes/jobs/jobLines.js';
import { createFakeHost, type FakeGuest } from '../helpers/fakeHost.js';

function hanging(name: string, uri: string): HostContext & { killed: string[][] } {
  const killed: string[][] = [];
  const exec: Executor = {
    label: name,
    run: (argv: string[], o: ExecOptions = {}) =>
      new Promise<ExecResult>((_, reject) => {
        o.signal?.addEventListener('abort', () => {
          killed.push(argv);
          reject(new Error('aborted'));
        });
      }),
    interactive: async () => 0,
  };
  return { name, uri, virshExec: exec, sysExec: exec, killed };
}

const guests = (prefix: string, n: number): FakeGuest[] =>
  Array.from({ length: n }, (_, i) => ({ name: `${prefix}${i}`, state: i % 2 ? 'running' : 'shut off', vcpus: 1, memoryMiB: 64 }));

describe('one refresh round over several hosts', () => {
  it('each host answers with its usual two virsh processes; hosts that hang cost one deadline together, not one each, and their commands are aborted', async () => {
    const a = createFakeHost(guests('a', 3), { hostname: 'a', uri: 'test:///a' });
    const b = createFakeHost(guests('b', 2), { hostname: 'b', uri: 'test:///b' });
    const d1 = hanging('d1', 'qemu+ssh://root@d1/system');
    const d2 = hanging('d2', 'qemu+ssh://root@d2/system');
    const started = Date.now();
    const answers = await listOnEveryHost([a.host, d1, b.host, d2], { timeoutMs: 200 });
    const took = Date.now() - started;
    expect(took).toBeGreaterThanOrEqual(190);
    // In parallel: two hanging hosts end with one deadline (200 ms), not two (400 ms).
    expect(took).toBeLessThan(380);
    expect(answers.map((x) => [x.host.name, x.ok])).toEqual([
      ['a', true],
      ['d1', false],
      ['b', true],
      ['d2', false],
    ]);
    expect(a.calls.length).toBeLessThanOrEqual(2);
    expect(b.calls.length).toBeLessThanOrEqual(2);
    expect(d1.killed.length).toBe(1);
    const dead = answers[1];
    expect(dead && !dead.ok && (dead.error as { sentence: string }).sentence).toBe('d1 is unreachable: no answer within 0.2 s from qemu+ssh://root@d1/system.');
  });

  it('a host that refuses at once reports its own error, not the deadline', async () => {
    const f = createFakeHost(guests('x', 1), { failOn: { list: 'error: failed to connect to the hypervisor\nerror: Cannot recv data: ssh: connect to host x port 22: Connection refused' } });
    const answer = await listWithin(f.host, 5000);
    expect(answer.ok).toBe(false);
    expect(answer.ms).toBeLessThan(1000);
    expect(!answer.ok && (answer.error as { code: string }).code).not.toBe('host-timeout');
  });
});

describe('all-hosts helpers', () => {
  it("otherHosts leaves out this host (by URI or name) and a name given twice", () => {
    const here = { name: 'fakehost', uri: 'qemu:///system' };
    const entries = [
      { name: 'local', uri: 'qemu:///system' },
      { name: 'lab', uri: 'qemu+ssh://root@lab/system' },
      { name: 'fakehost', uri: 'qemu+ssh://root@other/system' },
      { name: 'lab', uri: 'qemu+ssh://root@lab2/system' },
    ];
    expect(otherHosts(here, entries).map((e) => e.name)).toEqual(['lab']);
  });

  it('tagRows keeps the hosts in order and names within a host; hostsAnswering counts', () => {
    const row = (name: string) => ({ name }) as never;
    const rows = tagRows([
      { host: 'here', guests: [row('b'), row('a')] },
      { host: 'lab', guests: [row('a')] },
    ]);
    expect(rows.map((g) => `${g.host}/${g.name}`)).toEqual(['here/a', 'here/b', 'lab/a']);
    const st = (name: string, answered: boolean | null) => ({ name, uri: '', answered, error: null, guests: 0, ms: null });
    expect(hostsAnswering([st('a', true)])).toBeNull();
    expect(hostsAnswering([st('a', null), st('b', null)])).toBeNull();
    expect(hostsAnswering([st('a', true), st('b', false), st('c', true)])).toBe('2/3 hosts');
  });

  it('the HOST column is 4 to 8 wide at 80 columns and the row still fits', () => {
    const cols = guestColumns(78, ['fakehost', 'a-very-long-host-name']);
    expect(cols[0]).toMatchObject({ key: 'host', width: 8 });
    expect(cols.reduce((n, c) => n + c.width + 1, 0) - 1).toBeLessThanOrEqual(78);
    expect(guestColumns(78, ['a', 'b'])[0]?.width).toBe(4);
  });

  it('the CLI table with hosts fits 80 columns', () => {
    const g = { name: 'a-rather-long-guest-name', state: 'running', vcpus: 2, memoryMiB: 1024, disks: [], nics: [], vnc: null, autostart: true, host: 'laboratory-east' } as never;
    const out = formatGuestTable([g], { hosts: true, ascii: true });
    for (const l of out.trimEnd().split('\n')) expect(l.length).toBeLessThanOrEqual(80);
    expect(out).toMatch(/^HOST\s+NAME/);
  });

  it('a job names its host by the config entry of its URI, else the URI host part; control characters are shown, not obeyed', () => {
    const hosts = [{ name: 'lab', uri: 'qemu+ssh://root@lab/system' }];
    expect(jobHostName('qemu+ssh://root@lab/system', hosts)).toBe('lab');
    expect(jobHostName('qemu+ssh://root@far.example:2222/system', hosts)).toBe('far.example');
    expect(jobHostName('qemu:///system', hosts)).toBe('qemu:///system');
    expect(jobHostName('qemu+ssh://root@ev\u001b[2Jil/system', hosts)).not.toContain('\u001b');
    expect(hostWidth(['lab', 'fakehost-long'])).toBe(8);
    expect(jobHeader(200, 8, 4)).toMatch(/^ {2}HOST KIND/);
  });
});

describe('virtdeck guest list --all-hosts', () => {
  async function cli(argv: string[]) {
    const here = createFakeHost(guests('web', 2), { hostname: 'here' });
    const lab = createFakeHost(guests('db', 1), { hostname: 'lab', uri: 'qemu+ssh://root@lab/system' });
    const dead = hanging('deadbox', 'qemu+ssh://root@deadbox/system');
    let out = '';
    let err = '';
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
      createHost: () => here.host,
      runTui: async () => {},
      ensureDemo: async () => {},
      resetDemo: async () => [],
      output,
      configHosts: () => [
        { name: 'lab', uri: 'qemu+ssh://root@lab/system' },
        { name: 'deadbox', uri: 'qemu+ssh://root@deadbox/system' },
      ],
      connectHost: (t) => (t.name === 'lab' ? lab.host : dead),
      hostTimeoutMs: 200,
    };
    const code = await runCli(argv, deps);
    return { code, out, err };
  }

  it('lists every host with a HOST column, reports the one that did not answer and exits 1', async () => {
    const r = await cli(['guest', 'list', '--all-hosts']);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/^HOST\s+NAME/);
    expect(r.out).toMatch(/here\s+web0/);
    expect(r.out).toMatch(/lab\s+db0/);
    expect(r.out).toContain('2/3 hosts answered.');
    expect(r.err).toContain('deadbox is unreachable: no answer within 0.2 s');
  });

  it('--json: every host with ok and its error, every guest with its host', async () => {
    const r = await cli(['guest', 'list', '--all-hosts', '--json']);
    expect(r.code).toBe(1);
    const j = JSON.parse(r.out) as { ok: boolean; hosts: { name: string; ok: boolean; error?: { sentence: string } }[]; guests: { host: string; name: string }[] };
    expect(j.ok).toBe(false);
    expect(j.hosts.map((h) => [h.name, h.ok])).toEqual([
      ['here', true],
      ['lab', true],
      ['deadbox', false],
    ]);
    expect(j.hosts[2]?.error?.sentence).toContain('deadbox is unreachable');
    expect(j.guests.map((g) => `${g.host}/${g.name}`)).toEqual(['here/web0', 'here/web1', 'lab/db0']);
  });
});
