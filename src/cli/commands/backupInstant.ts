/**
 * `virtdeck backup instant GUEST [RUN]` and `backup instant discard NAME`: start a guest straight
 * from a backup run (overlays over the run's images, nothing copied) and remove such a copy again.
 */
import type { Command } from 'commander';
import { loadBackupConfig } from '../../jobs/backup.js';
import { DEFAULT_OVERLAY_DIR, discardInstant, finishInstant, listInstant, prepareDiscard, prepareFinish, prepareInstant, runInstant } from '../../jobs/instant.js';
import { refuseDamage } from '../../jobs/restore.js';
import { resolveDestination } from '../../model/backupConfig.js';
import { checkGuestName } from '../../model/guestName.js';
import { instantListLines } from '../../model/instantRecovery.js';
import { describePlan } from '../../model/plan.js';
import { UserError } from '../../model/userError.js';
import { type HeadlessJob, headlessJob } from '../interrupt.js';
import { EXIT, type ExitCode, formatError, type Output } from '../output.js';
import { copySource, FROM_HELP } from './backupCopy.js';
import type { GuestCommandContext } from './guest.js';
import type { CommandKit } from './kit.js';
import { stepPrinter } from './stepPrinter.js';

function json(out: Output, value: unknown): void {
  out.out(JSON.stringify(value, null, 2));
}

export interface InstantFlags {
  dest?: string;
  /** A copy target to read the run from (it is restored to a staging directory the guest then runs from). */
  from?: string;
  as?: string;
  dir?: string;
  isolated?: boolean;
  dryRun?: boolean;
  signal?: AbortSignal;
  job?: HeadlessJob;
}

export async function backupInstantCommand(ctx: GuestCommandContext, guest: string, run: string | undefined, o: InstantFlags): Promise<ExitCode> {
  if (o.as !== undefined) checkGuestName(o.as);
  // A copy stays in its staging directory for as long as the guest runs from it.
  const fetched = await copySource(ctx.host, o.from, o.dest, guest, run, o.signal);
  try {
    const code = await instantFrom(ctx, guest, fetched ? fetched.run : run, { ...o, dest: fetched?.dest ?? o.dest });
    if (o.dryRun || code !== EXIT.ok) await fetched?.cleanup();
    return code;
  } catch (e) {
    await fetched?.cleanup();
    throw e;
  }
}

async function instantFrom(ctx: GuestCommandContext, guest: string, run: string | undefined, o: InstantFlags): Promise<ExitCode> {
  const dest = resolveDestination(o.dest, loadBackupConfig());
  const req = { guest, dest, run, asName: o.as, dir: o.dir, isolated: Boolean(o.isolated), signal: o.signal };
  if (o.dryRun) {
    const p = await prepareInstant(ctx.host, req);
    refuseDamage(p, { allowDamaged: false });
    if (ctx.output.json) json(ctx.output, { ok: true, dryRun: true, run: p.found.run.name, name: p.name, overlays: p.overlays, notes: p.notes, steps: describePlan(p.plan) });
    else ctx.output.out([`${p.plan.title} (dry run, nothing changed):`, ...describePlan(p.plan).map((l) => `  ${l}`), ...p.notes].join('\n'));
    return EXIT.ok;
  }
  const r = await runInstant(ctx.host, { ...req, onEvent: stepPrinter(ctx) });
  const ok = r.state === 'done';
  const interrupted = o.job?.undoneBySignal(r.state) ? o.job.cancelled('The instant recovery') : null;
  if (ctx.output.json) json(ctx.output, { ok, ...r, error: r.error ? { sentence: r.error.sentence, fix: r.error.fix } : undefined });
  else if (interrupted) ctx.output.err(formatError(interrupted));
  else if (ok) {
    ctx.output.out(
      [
        `${r.name} is running from ${guest} ${r.run} (${(r.elapsedMs / 1000).toFixed(1)} s); its writes go to ${r.overlays.map((d) => d.path).join(', ')}.`,
        `The run is only read; prune keeps it while ${r.name} exists. Remove the copy with: virtdeck backup instant discard ${r.name}`,
        ...r.notes,
      ].join('\n'),
    );
  } else ctx.output.err(`virtdeck: the instant recovery ${r.state}: ${r.error?.sentence ?? ''}\n  fix: ${r.error?.fix ?? 'See the job journal.'}`);
  if (interrupted) return interrupted.exitCode;
  return ok ? EXIT.ok : r.error instanceof UserError ? EXIT.usage : EXIT.failed;
}

export async function backupInstantDiscardCommand(ctx: GuestCommandContext, name: string, o: { dryRun?: boolean; signal?: AbortSignal }): Promise<ExitCode> {
  checkGuestName(name);
  if (o.dryRun) {
    const p = await prepareDiscard(ctx.host, name, { signal: o.signal });
    if (ctx.output.json) json(ctx.output, { ok: true, dryRun: true, name, steps: describePlan(p.plan) });
    else ctx.output.out([`${p.plan.title} (dry run, nothing changed):`, ...describePlan(p.plan).map((l) => `  ${l}`)].join('\n'));
    return EXIT.ok;
  }
  const r = await discardInstant(ctx.host, name, { signal: o.signal, onEvent: stepPrinter(ctx) });
  const ok = r.state === 'done';
  if (ctx.output.json) json(ctx.output, { ok, name, state: r.state, removed: r.record.overlays.map((x) => x.path), error: r.error ? { sentence: r.error.sentence, fix: r.error.fix } : undefined });
  else if (ok) ctx.output.out(`${name} is gone: stopped, ${r.record.originalXml ? 'its earlier definition put back' : 'undefined'}, ${r.record.overlays.length} overlay${r.record.overlays.length === 1 ? '' : 's'} removed. The backup was not touched.`);
  else ctx.output.err(`virtdeck: the discard ${r.state}: ${r.error?.sentence ?? ''}\n  fix: ${r.error?.fix ?? 'Run it again; each step is safe to repeat.'}`);
  return ok ? EXIT.ok : r.error instanceof UserError ? EXIT.usage : EXIT.failed;
}

export async function backupInstantFinishCommand(ctx: GuestCommandContext, name: string, o: { to: string; dryRun?: boolean; signal?: AbortSignal }): Promise<ExitCode> {
  checkGuestName(name);
  if (o.dryRun) {
    const p = await prepareFinish(ctx.host, name, o.to, { signal: o.signal });
    if (ctx.output.json) json(ctx.output, { ok: true, dryRun: true, name, steps: describePlan(p.plan) });
    else ctx.output.out([`${p.plan.title} (dry run, nothing changed):`, ...describePlan(p.plan).map((l) => `  ${l}`)].join('\n'));
    return EXIT.ok;
  }
  const r = await finishInstant(ctx.host, name, o.to, { signal: o.signal, onEvent: stepPrinter(ctx) });
  const ok = r.state === 'done';
  if (ctx.output.json) json(ctx.output, { ok, name, state: r.state, error: r.error ? { sentence: r.error.sentence, fix: r.error.fix } : undefined });
  else if (ok) ctx.output.out(`${name} runs from ${o.to} now and no longer needs ${r.record.guest} ${r.record.run}; its overlays are removed.`);
  else ctx.output.err(`virtdeck: moving ${name} home ${r.state}: ${r.error?.sentence ?? ''}\n  fix: ${r.error?.fix ?? 'It still runs from the backup; try again or discard it.'}`);
  return ok ? EXIT.ok : r.error instanceof UserError ? EXIT.usage : EXIT.failed;
}

export async function backupInstantListCommand(ctx: GuestCommandContext, o: { signal?: AbortSignal }): Promise<ExitCode> {
  const entries = await listInstant(ctx.host, { signal: o.signal });
  if (ctx.output.json) json(ctx.output, { ok: true, uri: ctx.host.uri, instant: entries });
  else ctx.output.out(instantListLines(entries, ctx.host.uri).join('\n'));
  return EXIT.ok;
}

export function registerBackupInstantCommands(program: Command, kit: CommandKit): void {
  const backup = program.commands.find((c) => c.name() === 'backup') ?? program.command('backup');
  const instant = backup
    .command('instant')
    .description('start a guest straight from a backup run in seconds (qcow2 overlays over the run; nothing copied, the run only read)')
    .argument('<guest>', 'the guest the backup is of')
    .argument('[run]', 'run name or unique prefix (default: the newest)')
    .option('--dest <dir>', 'destination directory (default: backup.defaultDestination in config.json)')
    .option('--from <target>', FROM_HELP)
    .option('--as <name>', 'name of the copy (default GUEST-instant; GUEST itself only when it is gone or shut off)')
    .option('--dir <dir>', `directory for the overlays (default ${DEFAULT_OVERLAY_DIR})`)
    .option('--isolated', 'start with every network link down, so the copy never meets the original on the LAN')
    .option('-n, --dry-run', 'print the plan; change nothing')
    .addHelpText(
      'after',
      kit.examples([
        'virtdeck backup instant web --dest /mnt/backup --isolated',
        'virtdeck backup instant web 20261125T203000Z-inc --as web --dest /mnt/backup',
        'virtdeck backup instant finish web-instant --to /var/lib/libvirt/images',
        'virtdeck backup instant discard web-instant',
      ]),
    )
    .addHelpText('after', '\nThe run and its chain are first checked against their manifests (sha256). Prune and retention keep every run\nthe copy reads until it is discarded.')
    .action((guest: string, run: string | undefined, o: InstantFlags) => headlessJob((job) => kit.run((ctx) => backupInstantCommand(ctx, guest, run, { ...o, signal: job.signal, job }))()));
  instant
    .command('list')
    .description('the guests running from a backup: which runs they read, their overlays, since when')
    .action(() => kit.run((ctx) => backupInstantListCommand(ctx, {}))());
  instant
    .command('discard')
    .description('stop a copy made by `backup instant` and remove only its overlays and its definition')
    .argument('<name>', 'the copy, e.g. web-instant')
    .option('-n, --dry-run', 'print the plan; change nothing')
    .action((name: string, o: { dryRun?: boolean }) => headlessJob((job) => kit.run((ctx) => backupInstantDiscardCommand(ctx, name, { ...o, signal: job.signal }))()));
  instant
    .command('finish')
    .description('move a running copy home: virsh blockcopy --pivot of each disk into --to DIR; then it no longer needs the backup')
    .argument('<name>', 'the copy, e.g. web-instant')
    .requiredOption('--to <dir>', 'directory for its disks (NAME-TARGET.qcow2)')
    .option('-n, --dry-run', 'print the plan; change nothing')
    .action((name: string, o: { to: string; dryRun?: boolean }) => headlessJob((job) => kit.run((ctx) => backupInstantFinishCommand(ctx, name, { ...o, signal: job.signal }))()));
}
