/**
 * `virtdeck guest migrate NAME --to HOST`: the headless twin of the migration wizard (`m` on a
 * guest, `:migrate NAME HOST`). Every check runs before anything moves; a refusal is exit 2 with
 * nothing changed on either host.
 */
import type { Command } from 'commander';
import { stateDir } from '../../config/paths.js';
import { planRoute } from '../../host/planRoute.js';
import { type MigrateDestination, migrateDestination, prepareMigrate, runMigrate } from '../../jobs/migrate.js';
import { describePlan } from '../../model/plan.js';
import { shown } from '../../model/shown.js';
import { UserError } from '../../model/userError.js';
import { headlessJob, undoPrinter } from '../interrupt.js';
import { EXIT, type ExitCode, streamWriter } from '../output.js';
import { progressPrinter } from './diskConvert.js';
import type { GuestCommandContext } from './guest.js';
import type { CommandKit } from './kit.js';

export interface MigrateFlags {
  to: string;
  offline?: boolean;
  copyStorage?: boolean;
  keepSource?: boolean;
  removeSourceDisks?: boolean;
  bandwidth?: string;
  autoConverge?: boolean;
  postcopy?: boolean;
  dryRun?: boolean;
  detach?: boolean;
}

/** --bandwidth: whole MiB/s, as virsh takes it. */
export function parseBandwidth(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  if (!/^[1-9]\d{0,6}$/.test(text.trim())) throw new UserError(`--bandwidth ${shown(text)} is not a whole number of MiB/s.`, 'Write the limit in MiB/s, for example --bandwidth 100.');
  return Number(text.trim());
}

export async function migrateCommand(
  ctx: GuestCommandContext,
  name: string,
  flags: MigrateFlags,
  deps: { destination?: (wanted: string) => MigrateDestination; io?: { tty?: boolean; columns?: number } } = {},
): Promise<ExitCode> {
  const out = ctx.output;
  const bandwidthMiB = parseBandwidth(flags.bandwidth);
  const dest = (deps.destination ?? migrateDestination)(flags.to);
  const prepared = await prepareMigrate(ctx.host, dest, name, {
    offline: flags.offline,
    copyStorage: flags.copyStorage,
    keepSource: flags.keepSource,
    removeSourceDisks: flags.removeSourceDisks,
    bandwidthMiB,
    autoConverge: flags.autoConverge,
    postCopy: flags.postcopy,
  });
  const { review, plan } = prepared;
  const checks = review.checks.map((c) => ({ id: c.id, ok: c.ok, text: c.text, ...(c.refusal ? { fix: c.refusal.fix } : {}) }));
  const first = review.refusals[0];
  if (first || !plan) {
    if (out.json) {
      out.out(JSON.stringify({ ok: false, checks, error: { message: first?.sentence ?? 'Nothing to do.', fix: first?.fix ?? '' } }, null, 2));
      return EXIT.usage;
    }
    for (const c of review.checks) if (c.refusal) out.err(`refused: ${c.refusal.sentence}`);
    throw first ?? new UserError('Nothing to do.', 'Check the options.');
  }
  const steps = describePlan(plan, planRoute(ctx.host));
  if (flags.dryRun) {
    if (out.json) out.out(JSON.stringify({ ok: true, dryRun: true, title: plan.title, live: review.live, copy: review.copy, checks, notes: review.notes, steps, plan }, null, 2));
    else out.out([plan.title, ...review.checks.map((c) => `  ok  ${c.text}`), ...review.notes.map((n) => `note: ${n}`), ...steps].join('\n'));
    return EXIT.ok;
  }
  for (const n of review.notes) out.err(`note: ${n}`);
  if (flags.detach) {
    const { launchDetached } = await import('../../jobs/detached.js');
    const job = await launchDetached(ctx.host, plan, { stateDir: stateDir() });
    if (out.json) out.out(JSON.stringify({ ok: true, detached: true, id: job.id, pid: job.pid, journal: job.journalPath, log: job.logPath }, null, 2));
    else out.out([`Started job ${job.id} (worker pid ${job.pid ?? 'starting'}): ${plan.title}.`, `Follow it:  virtdeck job log ${job.id} --follow`, `Cancel it:  virtdeck job cancel ${job.id}`].join('\n'));
    return EXIT.ok;
  }
  const write = streamWriter(process.stderr);
  const tty = deps.io?.tty ?? Boolean(process.stderr.isTTY);
  return headlessJob(async (job) => {
    const r = await runMigrate(ctx.host, plan, {
      stateDir: stateDir(),
      signal: job.signal,
      onEvent: out.json ? undoPrinter(write) : progressPrinter(write, { tty, columns: deps.io?.columns ?? process.stderr.columns, total: plan.steps.length }),
    });
    if (!out.json && tty) write('\n');
    if (job.undoneBySignal(r.state)) throw job.cancelled('The migration');
    if (r.state !== 'done') {
      if (r.error) throw r.error;
      throw new UserError(`The migration was ${r.state}; what it had done was undone.`, `The journal ${r.journal.path} has the details.`);
    }
    const where = `${name} now ${review.live ? 'runs' : 'is defined'} on ${dest.ref.name}`;
    if (out.json) out.out(JSON.stringify({ ok: true, guest: name, to: dest.ref.name, live: review.live, copied: review.copy, notes: review.notes, journal: r.journal.path }, null, 2));
    else out.out(`${where}.`);
    return EXIT.ok;
  });
}

/** Adds `migrate` to the `guest` command group. */
export function registerGuestMigrateCommand(guest: Command, kit: CommandKit): void {
  guest
    .command('migrate')
    .description('move a guest to another host: live when it runs (libvirt migration), offline when shut off (disks copied over SSH)')
    .argument('<name>', 'guest name')
    .requiredOption('--to <host>', 'destination: a host name from the config file, or a qemu+ssh:// URI')
    .option('--offline', 'only move a shut-off guest (refuses a running one)')
    .option('--copy-storage', 'copy the disks to the same paths on the destination (storage not shared)')
    .option('--keep-source', "keep the guest's definition (shut off) on this host")
    .option('--remove-source-disks', 'with copied disks: delete their files on this host once the guest runs (offline: is defined) on the destination and is checked')
    .option('--bandwidth <MiB/s>', 'limit the migration stream')
    .option('--auto-converge', 'slow the guest down when it dirties memory faster than the link copies it')
    .option('--postcopy', 'switch to post-copy after one pass (the guest runs on the destination sooner)')
    .option('-n, --dry-run', 'run the checks and print the plan only; change nothing')
    .option('--detach', 'run in the background in a worker that survives this terminal; prints the job id')
    .addHelpText(
      'after',
      kit.examples([
        'virtdeck guest migrate web --to host2 --dry-run',
        'virtdeck guest migrate web --to host2 --copy-storage --bandwidth 100',
        'virtdeck guest migrate old-files --to host2 --offline --copy-storage',
      ]),
    )
    .action((name: string, o: MigrateFlags) => kit.run((ctx) => migrateCommand(ctx, name, o))());
}
