/**
 * `virtdeck top` — what each running guest uses, every few seconds, like virt-top's batch mode
 * (gone from Debian 12): one virsh per interval (domstats and nodecpustats), rates from the
 * difference between two; the host's CPU % and load average head each interval, as in the console.
 * With --json, one JSON object per line per interval, so a monitoring script can read it as a stream.
 */
import type { Command } from 'commander';
import type { HostContext } from '../../host/hostContext.js';
import { readLoadavg } from '../../host/loadavg.js';
import * as virsh from '../../host/virsh.js';
import { hostCpuBusyPct, type LoadAverage, loadText } from '../../model/hostLoad.js';
import { formatBytes } from '../../model/units.js';
import { computeUsage, type GuestUsage, SORT_KEYS, sortByUsage, type UsageSortKey } from '../../model/usage.js';
import { EXIT, type ExitCode, type Output, UsageError } from '../output.js';
import type { CommandKit } from './kit.js';

export interface TopOptions {
  delaySeconds: number;
  /** Intervals to print; null: until Ctrl-C. */
  count: number | null;
  sort: UsageSortKey;
}

export interface TopDeps {
  sleep: (ms: number) => Promise<void>;
  now: () => number;
  /** The host's load averages; null when they cannot be read (the interval is still printed). */
  loadavg: (host: HostContext) => Promise<LoadAverage | null>;
}

const realDeps: TopDeps = {
  sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
  now: Date.now,
  loadavg: (host) => readLoadavg(host).catch(() => null),
};

/** How busy the host is, as the console's header shows it: its CPU % between two samples and its load averages. */
export interface TopHost {
  cpuPct: number | null;
  load: LoadAverage | null;
}

export function parseTopOptions(raw: { delay?: string; count?: string; sort?: string }): TopOptions {
  const delay = Number(raw.delay ?? '3');
  if (!Number.isFinite(delay) || delay < 0.1 || delay > 86_400)
    throw new UsageError(`-d ${raw.delay} is not a delay virtdeck top can use.`, 'Give the seconds between samples, e.g. -d 2 (0.1 to 86400).');
  let count: number | null = null;
  if (raw.count !== undefined) {
    count = Number(raw.count);
    if (!Number.isInteger(count) || count < 1) throw new UsageError(`-n ${raw.count} is not a number of samples.`, 'Give a whole number of 1 or more, e.g. -n 10; leave -n out to run until Ctrl-C.');
  }
  const sort = (raw.sort ?? 'cpu') as UsageSortKey;
  if (!(SORT_KEYS as readonly string[]).includes(sort) || sort === 'name')
    throw new UsageError(`--sort ${raw.sort} is not a column virtdeck top sorts by.`, 'Use --sort cpu, mem, disk or net.');
  return { delaySeconds: delay, count, sort };
}

export interface TopRow extends GuestUsage {
  name: string;
  vcpus: number | null;
}

function pct(p: number | null): string {
  return p === null ? '-' : p.toFixed(1);
}

function bytes(n: number | null): string {
  return n === null ? '-' : formatBytes(n);
}

function count(n: number | null): string {
  return n === null ? '-' : String(Math.round(n));
}

/** "host CPU 12.5%, load 0.52 0.48 0.40": what the console's meters say; a figure the host did not give is "-". */
export function topHostText(h: TopHost): string {
  return `host CPU ${h.cpuPct === null ? '-' : `${h.cpuPct.toFixed(1)}%`}, load ${h.load ? loadText(h.load) : '-'}`;
}

/** virt-top's batch layout: one header per interval, then a row per running guest. */
export function formatTopText(at: Date, hostName: string, hostCpus: number | null, rows: TopRow[], busy: TopHost = { cpuPct: null, load: null }): string {
  const head = ['%CPU', '%VCPU', 'MEM', 'RDBY/s', 'WRBY/s', 'RDRQ/s', 'WRRQ/s', 'RXBY/s', 'TXBY/s'];
  const line = (cells: string[], name: string) => `${cells.map((c) => c.padStart(7)).join(' ')}  ${name}`;
  const out = [`virtdeck top - ${at.toTimeString().slice(0, 8)} - ${hostName}, ${hostCpus ?? '?'} CPUs, ${rows.length} running, ${topHostText(busy)}`, line(head, 'NAME')];
  for (const r of rows) {
    out.push(
      line(
        [
          pct(r.hostCpuPct),
          pct(r.cpuPct),
          r.memUsedKiB === null ? '-' : formatBytes(r.memUsedKiB * 1024),
          bytes(r.diskReadBps),
          bytes(r.diskWriteBps),
          count(r.diskReadIops),
          count(r.diskWriteIops),
          bytes(r.netRxBps),
          bytes(r.netTxBps),
        ],
        r.name,
      ),
    );
  }
  return `${out.join('\n')}\n`;
}

export async function topCommand(ctx: { host: HostContext; output: Output }, opts: TopOptions, given: Partial<TopDeps> = {}): Promise<ExitCode> {
  const deps: TopDeps = { ...realDeps, ...given };
  const hostCpus = await virsh.hostCpuCount(ctx.host);
  let prev = await virsh.usageSample(ctx.host, deps.now);
  for (let i = 0; opts.count === null || i < opts.count; i++) {
    await deps.sleep(opts.delaySeconds * 1000);
    const [next, load] = await Promise.all([virsh.usageSample(ctx.host, deps.now), deps.loadavg(ctx.host)]);
    const usage = computeUsage(prev.stats, next.stats, hostCpus ?? 0);
    const busy: TopHost = { cpuPct: hostCpuBusyPct(prev.hostCpuTimes, next.hostCpuTimes), load };
    // Running guests only, as virt-top: a shut-off guest has no cpu.time.
    const running = [...next.stats.guests]
      .filter(([, f]) => f['cpu.time'] !== undefined)
      .map(([name, f]) => ({ name, vcpus: Number(f['vcpu.current']) || null, ...(usage.get(name) as GuestUsage) }))
      .sort((a, b) => a.name.localeCompare(b.name));
    const rows = sortByUsage(running, opts.sort, usage);
    const at = next.stats.at;
    if (ctx.output.json) {
      ctx.output.out(
        JSON.stringify({
          at: new Date(at).toISOString(),
          intervalSeconds: (at - prev.stats.at) / 1000,
          host: ctx.host.name,
          hostCpus,
          hostCpuPct: busy.cpuPct,
          load: busy.load,
          sort: opts.sort,
          guests: rows,
        }),
      );
    } else {
      ctx.output.out(formatTopText(new Date(at), ctx.host.name, hostCpus, rows, busy));
    }
    prev = next;
  }
  return EXIT.ok;
}

export function registerTopCommands(program: Command, kit: CommandKit): void {
  program
    .command('top')
    .description("what each running guest uses: CPU, memory, disk and network rates every few seconds (virt-top's batch mode)")
    .option('-d, --delay <seconds>', 'seconds between samples', '3')
    .option('-n, --iterations <count>', 'samples to print, then exit (default: until Ctrl-C)')
    .option('--sort <column>', 'cpu, mem, disk or net (busiest first)', 'cpu')
    .addHelpText(
      'after',
      kit.examples(['virtdeck top', 'virtdeck top -d 1 -n 5 --sort disk', "virtdeck top --json -n 1 | jq -r '.guests[] | [.name, .hostCpuPct] | @tsv'"]),
    )
    .action((opts: { delay?: string; iterations?: string; sort?: string }) =>
      kit.run((ctx) => topCommand(ctx, parseTopOptions({ delay: opts.delay, count: opts.iterations, sort: opts.sort })))(),
    );
}
