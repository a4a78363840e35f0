import { describe, expect, it, vi } from 'vitest';
import { CountingExecutor, type Executor, type LiveChild, type SpawnOptions } from '../../src/host/exec.js';
import { openVirshChannel } from '../../src/host/virshChannel.js';
import * as virsh from '../../src/host/virsh.js';
import { createFakeHost } from '../helpers/fakeHost.js';

type Reply = { out?: string; err?: string } | 'hang' | 'die';

/**
 * A scripted interactive virsh: it reads question lines, answers `echo` itself (joining quoted
 * halves as virsh does) and asks `reply` for every other command.
 */
function scriptedVirsh(reply: (command: string, child: number) => Reply) {
  const children: { killed: boolean; argv: string[] }[] = [];
  const exec: Executor = {
    label: 'scripted',
    run: () => Promise.reject(new Error('no one-shot here')),
    interactive: () => Promise.resolve(0),
    spawn(argv: string[], o: SpawnOptions): LiveChild {
      const me = children.length;
      const state = { killed: false, argv };
      children.push(state);
      let end: (code: number) => void = () => {};
      const exited = new Promise<number>((r) => {
        end = r;
      });
      const die = (code: number) => {
        state.killed = true;
        end(code);
      };
      return {
        argv,
        pid: 1000 + me,
        exited,
        kill: () => die(-1),
        write(line: string) {
          if (state.killed) return;
          o.onStdout(`virsh # ${line}`);
          for (const c of line.trim().split('; ')) {
            const text = c.replace(/^echo (--err )?/, '').replace(/"/g, '');
            if (c.startsWith('echo --err ')) o.onStderr(`error: ${text}\n`);
            else if (c.startsWith('echo ')) o.onStdout(`${text}\n`);
            else {
              const r = reply(c, me);
              if (r === 'hang') return;
              if (r === 'die') return die(1);
              if (r.out) o.onStdout(r.out);
              if (r.err) o.onStderr(r.err);
            }
          }
        },
      };
    },
  };
  return { exec, children };
}

describe('virsh channel', () => {
  it('answers question after question from one child', async () => {
    const s = scriptedVirsh((c) => ({ out: `answer to ${c}\n` }));
    const counting = new CountingExecutor(s.exec);
    const ch = openVirshChannel('qemu:///system', counting);
    expect(ch).not.toBeNull();
    for (let i = 0; i < 5; i++) expect((await ch?.ask(['nodeinfo']))?.stdout).toBe('answer to nodeinfo\n');
    expect(counting.count).toBe(1);
    expect(counting.calls[0]).toEqual(['virsh', '-c', 'qemu:///system']);
    expect(ch?.starts).toBe(1);
  });

  it('frames a question in few characters: virsh reads its input a byte at a time, some 3 µs of CPU each', async () => {
    const s = scriptedVirsh((c) => ({ out: `answer to ${c}\n` }));
    const written: string[] = [];
    const recording: Executor = {
      ...s.exec,
      spawn(argv, o) {
        const child = s.exec.spawn?.(argv, o) as LiveChild;
        return {
          ...child,
          write(line: string) {
            written.push(line);
            child.write(line);
          },
        };
      },
    };
    const ch = openVirshChannel('qemu:///system', recording);
    expect((await ch?.ask(['nodeinfo']))?.stdout).toBe('answer to nodeinfo\n');
    expect(written).toHaveLength(1);
    expect((written[0] ?? '').length - 'nodeinfo'.length).toBeLessThanOrEqual(115);
  });

  it('questions asked at once are answered in turn, each with its own answer', async () => {
    const s = scriptedVirsh((c) => ({ out: `${c}\n` }));
    const ch = openVirshChannel('test:///default', s.exec);
    const answers = await Promise.all(['list --all --uuid', 'nodeinfo', 'hostname'].map((c) => ch?.ask([c])));
    expect(answers.map((a) => a?.stdout)).toEqual(['list --all --uuid\n', 'nodeinfo\n', 'hostname\n']);
  });

  it('a stuck answer times out, kills the child, and the next question starts a new one', async () => {
    const s = scriptedVirsh((_c, child) => (child === 0 ? 'hang' : { out: 'ok\n' }));
    const ch = openVirshChannel('test:///default', s.exec, { timeoutMs: 50 });
    await expect(ch?.ask(['domstats'])).rejects.toMatchObject({ code: 'timed-out' });
    expect(s.children[0]?.killed).toBe(true);
    expect((await ch?.ask(['domstats']))?.stdout).toBe('ok\n');
    expect(ch?.starts).toBe(2);
  });

  it('a child that dies mid-answer fails that question at once; the next one restarts it', async () => {
    const s = scriptedVirsh((_c, child) => (child === 0 ? 'die' : { out: 'ok\n' }));
    const ch = openVirshChannel('test:///default', s.exec, { timeoutMs: 60_000 });
    const t0 = Date.now();
    await expect(ch?.ask(['domstats'])).rejects.toThrow(/ended \(exit code 1\)/);
    expect(Date.now() - t0).toBeLessThan(1_000);
    expect((await ch?.ask(['domstats']))?.stdout).toBe('ok\n');
  });

  it('a lost connection (libvirtd restarted) restarts the child instead of answering errors', async () => {
    const s = scriptedVirsh((_c, child) => (child === 0 ? { err: 'error: Failed to reconnect to the hypervisor\n' } : { out: 'ok\n' }));
    const ch = openVirshChannel('test:///default', s.exec);
    await expect(ch?.ask(['list --all --uuid'])).rejects.toMatchObject({ code: 'connection-lost' });
    expect(s.children[0]?.killed).toBe(true);
    expect((await ch?.ask(['list --all --uuid']))?.stdout).toBe('ok\n');
  });

  it('a failed command is an answer, not a broken channel', async () => {
    const s = scriptedVirsh(() => ({ err: "error: failed to get domain 'gone'\n" }));
    const ch = openVirshChannel('test:///default', s.exec);
    expect(await ch?.ask(['dumpxml --domain 00000000-0000-0000-0000-000000000001'])).toEqual({ stdout: '', stderr: "error: failed to get domain 'gone'\n" });
    expect(s.children[0]?.killed).toBe(false);
  });

  it('close ends the child and a question in flight; later questions are refused without a process', async () => {
    const s = scriptedVirsh(() => 'hang');
    const counting = new CountingExecutor(s.exec);
    const ch = openVirshChannel('test:///default', counting);
    const asked = ch?.ask(['domstats']);
    await vi.waitFor(() => expect(s.children).toHaveLength(1));
    await ch?.close();
    await expect(asked).rejects.toMatchObject({ code: 'cancelled' });
    expect(s.children[0]?.killed).toBe(true);
    await expect(ch?.ask(['domstats'])).rejects.toMatchObject({ code: 'cancelled' });
    expect(counting.count).toBe(1);
  });

  it('an executor that cannot keep a child (the fake host) has no channel', () => {
    expect(openVirshChannel('qemu:///system', createFakeHost([]).host.virshExec)).toBeNull();
  });

  it('the refresh falls back to one-shot virsh for a round the channel cannot answer', async () => {
    const fake = createFakeHost([{ name: 'web', state: 'running', vcpus: 1, memoryMiB: 512 }]);
    // The first child hangs on the list (timed out), the second dies on the details.
    const s = scriptedVirsh((_c, child) => (child === 0 ? 'hang' : 'die'));
    const ch = openVirshChannel(fake.host.uri, s.exec, { timeoutMs: 30 });
    const rows = await virsh.listGuests({ ...fake.host, virshChannel: ch });
    expect(rows.map((r) => [r.name, r.state])).toEqual([['web', 'running']]);
    expect(fake.calls.filter((c) => c[0] === 'virsh')).toHaveLength(2);
    expect(s.children).toHaveLength(2);
    expect(s.children.every((c) => c.killed)).toBe(true);
  });
});
