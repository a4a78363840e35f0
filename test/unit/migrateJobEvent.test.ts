import { describe, expect, it } from 'vitest';
import type { ExecOptions, ExecResult, Executor } from '../../src/host/exec.js';
import type { HostContext } from '../../src/host/hostContext.js';
import { jobStatsVia, listenJobCompleted } from '../../src/host/migrate.js';
import type { VirshChannel } from '../../src/host/virshChannel.js';

const UUID = '6f1c2a8e-0b7d-4c1e-9a55-3e2f1d0c9b8a';

/** What `virsh event --domain UUID --event job-completed` prints for a finished migration (libvirt 9). */
const EVENT = `event 'job-completed' for domain 'web':
\toperation: 5
\ttime_elapsed: 4213
\tdowntime: 81
\tdata_total: 139132928
\tdata_processed: 139132928
\tdata_remaining: 0
\tmemory_total: 72024064
\tmemory_processed: 1083838
\tdisk_total: 67108864
\tdisk_processed: 67108864
events received: 1
`;

function hostAnswering(stdout: string, seen: string[][], o: { hang?: boolean } = {}): HostContext {
  const exec: Executor = {
    label: 'local',
    run(argv: string[], opts: ExecOptions = {}) {
      seen.push(argv);
      if (!o.hang) return Promise.resolve<ExecResult>({ argv, exitCode: 0, stdout, stderr: '' });
      return new Promise<ExecResult>((_, reject) => opts.signal?.addEventListener('abort', () => reject(new Error('aborted'))));
    },
    interactive: async () => 0,
  };
  return { name: 'here', uri: 'qemu:///system', virshExec: exec, sysExec: exec };
}

describe('the finished job from the job-completed event', () => {
  it('reads the totals and the downtime from the event virsh printed', async () => {
    const seen: string[][] = [];
    const l = listenJobCompleted(hostAnswering(EVENT, seen), UUID);
    const s = await l.result;
    expect(seen[0]).toEqual(['virsh', '-c', 'qemu:///system', 'event', '--domain', UUID, '--event', 'job-completed']);
    expect(s?.downtimeMs).toBe(81);
    expect(s?.dataTotal).toBe(139132928);
    expect(s?.diskTotal).toBe(67108864);
  });

  it('is null when stopped before any event, and never takes a name', async () => {
    const l = listenJobCompleted(hostAnswering('', [], { hang: true }), UUID);
    l.stop();
    expect(await l.result).toBeNull();
    expect(() => listenJobCompleted(hostAnswering('', []), 'web; destroy x')).toThrow(/not a UUID/);
  });
});

describe('job statistics through a long-lived virsh', () => {
  it('asks domjobinfo by UUID and parses the answer; a name never goes into the channel', async () => {
    const asked: string[][] = [];
    const channel: VirshChannel = {
      ask: async (commands) => {
        asked.push(commands);
        return { stdout: 'Job type: 2\noperation: 5\ndata_total: 100\ndata_processed: 40\n', stderr: '' };
      },
      close: async () => {},
      pid: 1,
      starts: 1,
    };
    const s = await jobStatsVia(channel, UUID);
    expect(asked).toEqual([[`domjobinfo --domain ${UUID} --rawstats`]]);
    expect(s.type).toBe('Unbounded');
    expect(s.dataProcessed).toBe(40);
    await expect(jobStatsVia(channel, 'web; destroy web')).rejects.toThrow(/not a UUID/);
  });
});
