/**
 * `virtdeck host evacuate --to HOST` (and `--return`): the headless twin of the Host pane's
 * evacuate action. The review lists every guest (live, offline or skipped, with the check's
 * sentence); guests move one at a time; the summary says which moved and which did not.
 * Exit 0 when every guest the evacuation was to move moved, 1 when a running guest stays on the
 * host (its checks refused it or its move failed), 2 for bad input (nothing changed).
 */
import type { Command } from 'commander';
import { stateDir } from '../../config/paths.js';
import { planRoute } from '../../host/planRoute.js';
import { evacuationOutcomes, type PreparedEvacuation, prepareEvacuation, prepareReturn, runEvacuation } from '../../jobs/evacuate.js';
import { type MigrateDestination, migrateDestination } from '../../jobs/migrate.js';
import type { RunResult } from '../../jobs/runner.js';
import { type EvacuateReview, summaryLines } from '../../model/evacuatePlan.js';
import { describePlan } from '../../model/plan.js';
import { UserError } from '../../model/userError.js';
import { headlessJob, Interrupted, undoPrinter } from '../interrupt.js';
import { EXIT, type ExitCode, streamWriter } from '../output.js';
import { progressPrinter } from './diskConvert.js';
import type { GuestCommandContext } from './guest.js';
import { parseBandwidth } from './guestMigrate.js';
import type { CommandKit } from './kit.js';

export interface EvacuateFlags {
  to?: string;
  return?: boolean;
  from?: string;
  includeShutOff?: boolean;
  copyStorage?: boolean;
  removeSourceDisks?: boolean;
  bandwidth?: string;
  dryRun?: boolean;
  detach?: boolean;
}

/** The review as lines: one per guest with its mode and why. */
export function reviewLines(review: EvacuateReview): string[] {
  return review.entries.map((e) => `  ${e.mode.padEnd(7)} ${e.guest}: ${e.why}${e.refusal ? ` (${e.refusal.fix})` : ''}`);
}

function reviewJson(review: EvacuateReview) {
  return review.entries.map((e) => ({
    guest: e.guest,
    mode: e.mode,
    why: e.why,
    ...(e.refusal ? { error: { message: e.refusal.sentence, fix: e.refusal.fix } } : {}),
    notes: e.review?.notes ?? [],
  }));
}

export async function evacuateCommand(ctx: GuestCommandContext, flags: EvacuateFlags, deps: { destination?: (wanted: string, where?: string) => MigrateDestination; io?: { tty?: boolean; columns?: number } } = {}): Promise<ExitCode> {
  const out = ctx.output;
  const bandwidthMiB = parseBandwidth(flags.bandwidth);
  const resolve = deps.destination ?? migrateDestination;
  if (flags.return) {
    if (flags.to) throw new UserError('--to does not go with --return (guests go back where they came from).', 'Name the host they are on with --from HOST, or leave both out.');
    if (flags.includeShutOff) throw new UserError('--include-shut-off does not go with --return: every guest the evacuation moved comes back.', 'Leave out --include-shut-off.');
  } else if (!flags.to) throw new UserError('host evacuate needs --to HOST (or --return).', 'Run `virtdeck host evacuate --to host2 --dry-run` to see the plan.');
  else if (flags.from) throw new UserError('--from goes only with --return.', 'Use --to HOST to say where the guests go.');
  const dir = stateDir();
  const prepared: PreparedEvacuation = flags.return
    ? await prepareReturn(ctx.host, dir, flags.from ? resolve(flags.from, '--from').ref : undefined, { ...(flags.copyStorage ? { copyStorage: true } : {}), bandwidthMiB, removeSourceDisks: flags.removeSourceDisks })
    : await prepareEvacuation(ctx.host, resolve(flags.to as string), { includeShutOff: flags.includeShutOff, copyStorage: flags.copyStorage, bandwidthMiB, removeSourceDisks: flags.removeSourceDisks });
  const { review, plan } = prepared;
  const returning = Boolean(flags.return);
  const title = plan?.title ?? (returning ? `Bring guests home to ${review.to.name}` : `Evacuate ${review.from} to ${review.to.name}`);
  if (!plan) {
    const first = review.entries.find((e) => e.refusal)?.refusal;
    const error = first
      ? new UserError(`No guest can move: ${review.entries.length === 1 ? first.sentence : `every guest was refused (${review.entries.filter((e) => e.refusal).length}), e.g. ${first.sentence}`}`, first.fix)
      : new UserError(review.entries.length === 0 ? `${review.from} has no guests to move.` : `${review.from} has no running guests to move.`, review.entries.length === 0 ? 'Nothing to do.' : 'Add --include-shut-off to move the shut-off guests offline.');
    if (out.json) {
      out.out(JSON.stringify({ ok: false, guests: reviewJson(review), error: { message: error.sentence, fix: error.fix } }, null, 2));
      return EXIT.usage;
    }
    if (review.entries.length > 0) out.err([title, ...reviewLines(review)].join('\n'));
    throw error;
  }
  if (flags.dryRun) {
    if (out.json) out.out(JSON.stringify({ ok: true, dryRun: true, title, guests: reviewJson(review), plan }, null, 2));
    else {
      const lines = [title, ...reviewLines(review)];
      for (const e of review.moving) {
        if (!e.plan) continue;
        lines.push(`${e.guest}:`, ...describePlan(e.plan, planRoute(ctx.host)).map((l) => `  ${l}`), ...(e.review?.notes ?? []).map((n) => `  note: ${n}`));
      }
      out.out(lines.join('\n'));
    }
    return EXIT.ok;
  }
  if (!out.json) out.err([title, ...reviewLines(review)].join('\n'));
  if (flags.detach) {
    const { launchDetached } = await import('../../jobs/detached.js');
    const job = await launchDetached(ctx.host, plan, { stateDir: dir });
    if (out.json) out.out(JSON.stringify({ ok: true, detached: true, id: job.id, pid: job.pid, journal: job.journalPath, log: job.logPath, guests: reviewJson(review) }, null, 2));
    else out.out([`Started job ${job.id} (worker pid ${job.pid ?? 'starting'}): ${plan.title}.`, `Follow it:  virtdeck job log ${job.id} --follow`, `Cancel it:  virtdeck job cancel ${job.id} (the guest being moved stays where it is)`].join('\n'));
    return EXIT.ok;
  }
  const write = streamWriter(process.stderr);
  const tty = deps.io?.tty ?? Boolean(process.stderr.isTTY);
  return headlessJob(async (job) => {
    let run: RunResult | null = null;
    try {
      run = await runEvacuation(ctx.host, plan, {
        stateDir: dir,
        signal: job.signal,
        onEvent: out.json ? undoPrinter(write) : progressPrinter(write, { tty, columns: deps.io?.columns ?? process.stderr.columns, total: plan.steps.length }),
      });
    } finally {
      if (!out.json && tty) write('\n');
    }
    const outcomes = evacuationOutcomes(review, run, dir);
    const lines = summaryLines(outcomes, review.to.name, returning);
    const moved = outcomes.filter((o) => o.result === 'moved').length;
    const wanted = review.entries.filter((e) => e.mode !== 'skip').length + review.runningLeft.length;
    const code = run.state === 'done' && moved === wanted ? EXIT.ok : EXIT.failed;
    if (out.json) out.out(JSON.stringify({ ok: code === EXIT.ok, state: run.state, guests: outcomes, journal: run.journal.path, ...(run.error ? { error: { message: run.error.sentence, fix: run.error.fix } } : {}) }, null, 2));
    else out.out(lines.join('\n'));
    if (job.by && run.state === 'cancelled') {
      // The JSON above already says what moved; one document on stdout, the signal in the exit code.
      if (out.json) return job.by === 'SIGTERM' ? EXIT.terminated : EXIT.interrupted;
      const what = returning ? 'Bringing the guests home' : 'The evacuation';
      // Said from what happened: a cancel that reached a move after libvirt completed it left that guest moved.
      const stopped = outcomes.find((o) => o.result === 'cancelled');
      const where = stopped ? `at ${stopped.guest}, which stays where it was` : 'after the guest being moved had arrived';
      throw new Interrupted(job.by, `${what} was cancelled (${job.by === 'SIGINT' ? 'Ctrl-C' : 'SIGTERM'}) ${where}; the guests moved before it stay moved.`, returning ? 'Run `host evacuate --return` again to bring the rest home.' : 'Run the evacuation again to move the rest, or `host evacuate --return` to bring the moved ones back.');
    }
    if (run.state !== 'done' && run.error && !out.json) out.err(`${run.error.sentence} ${run.error.fix}`);
    return code;
  });
}

/** Adds the `host` command group with `evacuate`. */
export function registerHostCommands(program: Command, kit: CommandKit): void {
  const host = program.command('host').description('the host itself: empty it for maintenance and bring its guests back');
  host
    .command('evacuate')
    .description('move every running guest (live) and, if asked, every shut-off one (offline) to another host, one at a time; --return brings them back')
    .option('--to <host>', 'destination: a host name from the config file, or a qemu+ssh:// URI')
    .option('--return', 'bring home the guests an evacuation of this host moved (only those still on that host)')
    .option('--from <host>', 'with --return: the host they went to (needed when guests are away on more than one)')
    .option('--include-shut-off', 'move the shut-off guests too (offline: disks copied over SSH)')
    .option('--copy-storage', 'copy the disks to the same paths on the destination (storage not shared)')
    .option('--remove-source-disks', "delete each copied guest's disk files on the host it left, once it runs (or, offline, is defined) on the other and is checked")
    .option('--bandwidth <MiB/s>', 'limit each migration stream')
    .option('-n, --dry-run', 'run every check and print the review and the plans only; change nothing')
    .option('--detach', 'run in the background in a worker that survives this terminal; prints the job id')
    .addHelpText(
      'after',
      `
Each guest gets the checks of \`guest migrate\`; a guest that fails them is listed with the reason
and stays here while the others move. A cancel stops at the guest being moved (it stays here).
Exit 0: every guest the evacuation was to move has moved; 1: some stay (refused or failed).
${kit.examples([
  'virtdeck host evacuate --to host2 --copy-storage --dry-run',
  'virtdeck host evacuate --to host2 --copy-storage --include-shut-off',
  'virtdeck host evacuate --return',
  'virtdeck host evacuate --return --remove-source-disks --dry-run',
])}`,
    )
    .action((o: EvacuateFlags) => kit.run((ctx) => evacuateCommand(ctx, o))());
}
