/**
 * `virtdeck backup copy [--all|GUEST…] --to TARGET`: the headless twin of the Backups pane's copy
 * key; and `--from TARGET` for restore, files, extract and instant (see copySource).
 */
import type { Command } from 'commander';
import type { HostContext } from '../../host/hostContext.js';
import { loadBackupConfig } from '../../jobs/backup.js';
import { type CopyEvent, type CopyResult, copyRuns } from '../../jobs/backupCopy.js';
import { type FetchedRun, fetchRun } from '../../jobs/copyFetch.js';
import { copiesOn } from '../../jobs/copyState.js';
import { type OpenedCopy, openCopyForFiles } from '../../jobs/resticMount.js';
import { resolveDestination } from '../../model/backupConfig.js';
import { describeTarget, findTarget } from '../../model/copyTarget.js';
import { formatProgressLine } from '../../model/progress.js';
import { shown } from '../../model/shown.js';
import { formatBytes } from '../../model/units.js';
import { UserError } from '../../model/userError.js';
import { type HeadlessJob, headlessJob } from '../interrupt.js';
import { asciiOnly, EXIT, type ExitCode, formatError, type Output } from '../output.js';
import type { CommandKit } from './kit.js';

export interface CopyFlags {
  all?: boolean;
  to?: string;
  dest?: string;
  dryRun?: boolean;
  list?: boolean;
  signal?: AbortSignal;
  job?: HeadlessJob;
}

function textReporter(out: Output, tty: boolean): (e: CopyEvent) => void {
  let last = 0;
  return (e) => {
    if (e.type === 'run-start') out.out(`${e.guest}/${e.run} (${e.index + 1}/${e.count}, ${formatBytes(e.bytes)})`);
    else if (e.type === 'progress' && tty && (Date.now() - last > 250 || e.progress.percent >= 100)) {
      last = Date.now();
      process.stdout.write(`\r\u001b[2K    ${shown(formatProgressLine(e.progress, 70, { ascii: asciiOnly() }))}`);
    } else if (e.type === 'run-end') {
      if (tty) process.stdout.write('\n');
      if (e.ok) out.out(`  copied and verified (${formatBytes(e.bytesSent)} sent)`);
      else out.err(`virtdeck: ${e.guest}/${e.run}: ${e.error?.sentence ?? 'failed'}\n  fix: ${e.error?.fix ?? ''}`);
    } else if (e.type === 'dropped') out.out(`removed from the target by its retention: ${e.guest}/${e.run}`);
  };
}

function summary(r: CopyResult): string[] {
  const lines: string[] = [];
  if (r.dryRun) {
    lines.push(r.planned.length === 0 ? `Nothing to copy to ${r.target} (${r.where}): every finished run is there.` : `Would copy to ${r.target} (${r.where}):`);
    for (const p of r.planned) lines.push(`  ${p.guest}/${p.run}  ${formatBytes(p.bytes)}`);
  } else {
    const sent = r.copied.reduce((s, c) => s + c.bytesSent, 0);
    lines.push(`${r.copied.length} run(s) copied to ${r.target} (${r.where}), ${formatBytes(sent)} sent${r.dropped.length ? `; ${r.dropped.length} removed there by its retention` : ''}.`);
  }
  for (const s of r.skipped) lines.push(`  not copied: ${s.guest}/${s.run}: ${s.reason}`);
  return lines;
}

export async function backupCopyCommand(ctx: { host: HostContext; output: Output }, names: string[], o: CopyFlags): Promise<ExitCode> {
  const cfg = loadBackupConfig();
  if (!o.to) throw new UserError('backup copy needs --to TARGET.', 'Name a copy target from backup.copyTargets in config.json, e.g. --to nas.');
  const target = findTarget(cfg.copyTargets, o.to);
  if (o.list) {
    const recs = copiesOn(target.name);
    if (ctx.output.json) ctx.output.out(JSON.stringify({ ok: true, target: target.name, where: describeTarget(target), copies: recs }, null, 2));
    else ctx.output.out(recs.length === 0 ? `No verified copies on ${target.name} (${describeTarget(target)}).` : recs.map((r) => `${r.guest}/${r.run}  ${formatBytes(r.bytes)}  copied ${r.at}`).join('\n'));
    return EXIT.ok;
  }
  if (o.all && names.length > 0) throw new UserError('--all and guest names do not go together.', 'Give either --all or the guests whose runs to copy.');
  if (!o.all && names.length === 0) throw new UserError('Which guests? No guest was named.', 'Name the guests (virtdeck backup copy web --to nas) or pass --all.');
  const dest = resolveDestination(o.dest, cfg);
  const report = textReporter(ctx.output, Boolean(process.stdout.isTTY));
  const r = await copyRuns(ctx.host, {
    target,
    dest,
    guests: o.all ? [] : names,
    dryRun: o.dryRun,
    signal: o.job?.signal ?? o.signal,
    onEvent: ctx.output.json || o.dryRun ? undefined : report,
  });
  const interrupted = o.job?.by ? o.job.cancelled('The copy') : null;
  if (ctx.output.json) ctx.output.out(JSON.stringify(r, null, 2));
  else if (interrupted) ctx.output.err(formatError(interrupted));
  else ctx.output.out(summary(r).join('\n'));
  if (interrupted) return interrupted.exitCode;
  if (r.ok) return EXIT.ok;
  // Every run refused for the same input reason (a wrong password, a missing target): exit 2.
  return r.copied.length === 0 && r.failed.length > 0 && r.failed.every((f) => /password|does not exist|no restic repository|cannot be read/.test(f.error.sentence)) ? EXIT.usage : EXIT.failed;
}

/**
 * The destination a restore, file browse or instant recovery reads: `--dest` as before, or with
 * `--from TARGET` the run brought back from that copy target (checked against its manifest first).
 */
export async function copySource(host: HostContext, from: string | undefined, dest: string | undefined, guest: string, run: string | undefined, signal?: AbortSignal): Promise<FetchedRun | null> {
  if (from === undefined) return null;
  if (dest !== undefined) throw new UserError('--from and --dest do not go together.', 'Give --from TARGET to read a copy, or --dest DIR for a destination.');
  return fetchRun(host, findTarget(loadBackupConfig().copyTargets, from), guest, run, { signal });
}

/**
 * `backup files` / `extract --from TARGET`: a restic target is read through `restic mount` where
 * FUSE works, without restoring the run first (jobs/resticMount.ts); the others as copySource.
 */
export async function copySourceForFiles(host: HostContext, from: string | undefined, dest: string | undefined, guest: string, run: string | undefined, signal?: AbortSignal): Promise<OpenedCopy | null> {
  if (from === undefined) return null;
  if (dest !== undefined) throw new UserError('--from and --dest do not go together.', 'Give --from TARGET to read a copy, or --dest DIR for a destination.');
  return openCopyForFiles(host, findTarget(loadBackupConfig().copyTargets, from), guest, run, { signal });
}

export const FROM_HELP = 'read the run from this copy target (backup.copyTargets) instead of a destination';

export function registerBackupCopyCommands(program: Command, kit: CommandKit): void {
  const backup = program.commands.find((c) => c.name() === 'backup') ?? program.command('backup');
  backup
    .command('copy')
    .description('copy finished runs to a copy target (directory, ssh host or restic repository), verify them there, apply its retention')
    .argument('[guest...]', 'guests whose runs to copy')
    .option('--all', 'every guest at the destination')
    .option('--to <target>', 'copy target name from backup.copyTargets in config.json')
    .option('--dest <dir>', 'destination directory (default: backup.defaultDestination in config.json)')
    .option('--list', 'list the verified copies on the target')
    .option('-n, --dry-run', 'print the runs that would be copied; send nothing')
    .addHelpText('after', kit.examples(['virtdeck backup copy --all --to nas', 'virtdeck backup copy web --to offsite --dry-run', 'virtdeck backup copy --list --to vault --json']))
    .addHelpText(
      'after',
      '\nA run is checked against its manifest (sha256) before it leaves; on a directory or ssh target it is written\nas RUN.partial, its checksums read back there, then renamed; into restic it goes with the password read from\nthe configured file (RESTIC_PASSWORD_FILE), then `restic check --read-data-subset`. Only then is it listed as\ncopied. Partial or damaged runs are never copied.',
    )
    .action((names: string[], o: CopyFlags) => headlessJob((job) => kit.run((ctx) => backupCopyCommand(ctx, names, { ...o, job }))()));
}
