/**
 * `virtdeck mergeide GUEST --offline|--iso`: the MergeIDE wizard's headless twin. --offline
 * changes the shut-off guest's SYSTEM hive (every control set; backups kept); --iso builds the
 * in-guest kit and attaches it as a CD-ROM. --dry-run prints what would change and the plan.
 */
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { stateDir } from '../../config/paths.js';
import { planRoute } from '../../host/planRoute.js';
import { prepareMergeIde, runMergeIde, summaryLines } from '../../jobs/mergeide.js';
import { describePlan } from '../../model/plan.js';
import { UserError } from '../../model/userError.js';
import { headlessJob, undoPrinter } from '../interrupt.js';
import { EXIT, type ExitCode, streamWriter } from '../output.js';
import { progressPrinter } from './diskConvert.js';
import type { GuestCommandContext } from './guest.js';
import type { CommandKit } from './kit.js';

export interface MergeIdeFlags {
  offline?: boolean;
  iso?: boolean;
  isoPath?: string;
  virtioIso?: string;
  dryRun?: boolean;
}

export async function mergeIdeCommand(ctx: GuestCommandContext, guest: string, flags: MergeIdeFlags, io: { tty?: boolean; columns?: number } = {}): Promise<ExitCode> {
  const out = ctx.output;
  if (Boolean(flags.offline) === Boolean(flags.iso)) throw new UserError('Choose one way: --offline or --iso.', '--offline edits the shut-off guest\'s registry; --iso builds a CD to run inside Windows.');
  if (flags.virtioIso && !flags.offline) throw new UserError('--virtio-iso goes with --offline.', 'Inside the guest, install the virtio drivers from the virtio-win ISO directly.');
  const prepared = await prepareMergeIde(ctx.host, {
    guest,
    mode: flags.offline ? 'offline' : 'iso',
    isoPath: flags.isoPath ? resolve(flags.isoPath) : undefined,
    virtioIso: flags.virtioIso ? resolve(flags.virtioIso) : undefined,
    stateDir: stateDir(),
    dryRun: Boolean(flags.dryRun),
  });
  const plan = prepared.plan;
  if (flags.dryRun) {
    if (out.json) out.out(JSON.stringify({ ok: true, dryRun: true, mode: prepared.mode, facts: prepared.facts, warnings: prepared.warnings, steps: describePlan(plan, planRoute(ctx.host)) }, null, 2));
    else out.out([...summaryLines(prepared), ...prepared.warnings.map((w) => `warning: ${w}`), ...describePlan(plan, planRoute(ctx.host))].join('\n'));
    return EXIT.ok;
  }
  for (const w of prepared.warnings) out.err(`warning: ${w}`);
  if (plan.steps.length === 0) {
    // Nothing to change is not a job: no journal, no hive rewrite, no backup.
    if (out.json) out.out(JSON.stringify({ ok: true, guest, mode: prepared.mode, changes: [], steps: [] }, null, 2));
    else out.out(summaryLines(prepared).join('\n'));
    return EXIT.ok;
  }
  const tty = io.tty ?? Boolean(process.stderr.isTTY);
  const write = streamWriter(process.stderr);
  const r = await headlessJob(async (job) => {
    const result = await runMergeIde(ctx.host, plan, {
      stateDir: stateDir(),
      signal: job.signal,
      onEvent: out.json ? undoPrinter(write) : progressPrinter(write, { tty, columns: io.columns ?? process.stderr.columns, total: plan.steps.length }),
    });
    if (job.undoneBySignal(result.state)) throw job.cancelled('MergeIDE');
    return result;
  });
  if (r.state !== 'done') {
    if (r.error) throw r.error;
    throw new UserError(`MergeIDE was ${r.state}; what it had done was undone.`, `The journal ${r.journal.path} has the details.`);
  }
  if (out.json) {
    const result = prepared.mode === 'offline' ? { changes: prepared.facts.changes, controlSets: prepared.facts.controlSets, backup: prepared.facts.original } : { iso: prepared.facts.iso };
    out.out(JSON.stringify({ ok: true, guest, mode: prepared.mode, ...result, journal: r.journal.path }, null, 2));
  } else out.out(summaryLines(prepared).join('\n'));
  return EXIT.ok;
}

export function registerMergeIdeCommands(program: Command, kit: CommandKit): void {
  program
    .command('mergeide')
    .description('prepare a Windows guest to boot from IDE (MergeIDE): offline in its registry, or with an ISO to run inside it')
    .argument('<guest>', 'the Windows guest')
    .option('--offline', 'merge the keys into every control set of the shut-off guest\'s SYSTEM hive (backups kept)')
    .option('--iso', 'build an ISO with mergeide.reg and mergeide.bat and attach it as a CD-ROM')
    .option('--iso-path <path>', 'with --iso: where the ISO goes (default: beside the guest\'s first disk)')
    .option('--virtio-iso <path>', 'with --offline: a virtio-win ISO; Windows XP–7 also get viostor/vioscsi')
    .option('-n, --dry-run', 'show what would change and the plan; change nothing')
    .addHelpText(
      'after',
      kit.examples([
        'virtdeck mergeide win2003 --offline --dry-run',
        'virtdeck mergeide win2003 --offline --virtio-iso /srv/iso/virtio-win.iso',
        'virtdeck mergeide win2003 --iso            # then run mergeide.bat inside Windows',
      ]),
    )
    .action((guest: string, opts: MergeIdeFlags) => kit.run((ctx) => mergeIdeCommand(ctx, guest, opts))());
}
