/**
 * `virtdeck backup run|list|verify`: the headless twins of the Backups pane's engine. The
 * `backup` group is shared with the restore/prune/schedule commands; each register function
 * gets or creates it.
 */
import type { Command } from 'commander';
import { stateDir as defaultStateDir } from '../../config/paths.js';
import { planRoute } from '../../host/planRoute.js';
import { type BackupEvent, type BackupRunResult, loadBackupConfig, runBackup } from '../../jobs/backup.js';
import { readCatalog } from '../../jobs/backupCatalog.js';
import { type RunVerifyReport, verifyRun } from '../../jobs/backupVerify.js';
import { copyIndex } from '../../jobs/copyState.js';
import { resolveDestination } from '../../model/backupConfig.js';
import { type CatalogRun, parseRunDirName } from '../../model/backupManifest.js';
import { describeDecision } from '../../model/backupPlan.js';
import { describePlan } from '../../model/plan.js';
import { formatBytesOfTotal, formatProgressRows, type Progress } from '../../model/progress.js';
import { shown } from '../../model/shown.js';
import { formatBytes } from '../../model/units.js';
import { UserError } from '../../model/userError.js';
import { type HeadlessJob, headlessJob } from '../interrupt.js';
import { asciiOnly, EXIT, type ExitCode, fitCell, formatError, type Output } from '../output.js';
import type { CommandKit } from './kit.js';

export function backupGroup(program: Command): Command {
  return (
    program.commands.find((c) => c.name() === 'backup') ??
    program.command('backup').description('back up guests to a directory, list, verify, prune and restore the runs')
  );
}

function destOf(given: string | undefined): string {
  return resolveDestination(given, loadBackupConfig());
}

/** Progress lines for a terminal: one line per step, the progress bar redrawn in place on a TTY. */
function textReporter(out: Output, tty: boolean): (e: BackupEvent) => void {
  const ascii = asciiOnly();
  let lastDraw = 0;
  // Lines of the progress block on screen (the whole step, then one per disk), redrawn in place.
  let drawn = 0;
  let last: Progress | null = null;
  return (e) => {
    if (e.type === 'warning') out.err(`warning: ${e.line}`);
    else if (e.type === 'guest-start') out.out(`${e.guest}: ${describeDecision(e.decision)} → ${e.plan.runName}`);
    else if (e.type === 'runner') {
      const ev = e.event;
      if (ev.type === 'step-start') {
        out.out(`  ${ev.index + 1}. ${ev.step.title}`);
        drawn = 0;
        last = null;
      } else if (ev.type === 'progress') {
        last = ev.progress;
        if (tty && (Date.now() - lastDraw > 250 || ev.progress.percent >= 100)) {
          lastDraw = Date.now();
          const lines = formatProgressRows(ev.progress, 70, { ascii }).map((l) => `\r\u001b[2K    ${shown(l)}`);
          process.stdout.write(`${drawn > 1 ? `\u001b[${drawn - 1}A` : ''}${lines.join('\n')}`);
          drawn = lines.length;
        }
      } else if (ev.type === 'step-end' && ev.step.progress) {
        if (tty) process.stdout.write('\n');
        // Without a terminal nothing was drawn: the per-disk totals once, when the step ends.
        else for (const p of last?.parts ?? []) out.out(`    ${p.label}: ${formatBytesOfTotal(p.bytesDone, p.bytesTotal)}`);
      } else if (ev.type === 'undo') out.err(`  undo: ${ev.title}`);
      else if (ev.type === 'log') out.out(`  ${ev.line}`);
    } else if (e.type === 'guest-end') {
      const r = e.result;
      if (r.ok && r.state !== 'planned') out.out(`${r.guest}: ok ${r.run} (${formatBytes(r.bytesWritten)} written${r.note ? `; ${r.note}` : ''})`);
      else if (!r.ok) out.err(`virtdeck: ${r.guest}: ${r.error?.sentence ?? r.state}\n  fix: ${r.error?.fix ?? ''}`);
    }
  };
}

export async function backupRunCommand(
  ctx: { host: Parameters<typeof runBackup>[0]; output: Output },
  names: string[],
  o: { all?: boolean; dest?: string; full?: boolean; dryRun?: boolean; signal?: AbortSignal; job?: HeadlessJob },
): Promise<ExitCode> {
  if (o.all && names.length > 0) throw new UserError('--all and guest names do not go together.', 'Give either --all or the guests to back up.');
  if (!o.all && names.length === 0) throw new UserError('Which guests? No guest was named.', 'Name the guests (virtdeck backup run web db) or pass --all.');
  const dest = destOf(o.dest);
  const plans: { guest: string; title: string; steps: string[] }[] = [];
  const onEvent = (e: BackupEvent) => {
    if (e.type === 'guest-start' && o.dryRun) plans.push({ guest: e.guest, title: e.plan.plan.title, steps: describePlan(e.plan.plan, planRoute(ctx.host)) });
    if (!ctx.output.json && !o.dryRun) reporter(e);
    if (!ctx.output.json && o.dryRun && e.type === 'warning') ctx.output.err(`warning: ${e.line}`);
    if (ctx.output.json && e.type === 'runner' && e.event.type === 'undo') ctx.output.err(`undo: ${e.guest}: ${e.event.title}`);
  };
  const reporter = textReporter(ctx.output, Boolean(process.stdout.isTTY));
  const result: BackupRunResult = await runBackup(ctx.host, { guests: o.all ? [] : names, dest, full: o.full, dryRun: o.dryRun, signal: o.job?.signal ?? o.signal, onEvent });
  const ok = result.guests.every((g) => g.ok);
  // Cancelled by Ctrl-C with every undo done: 130, whatever the guests before it did.
  const interrupted = o.job && result.guests.some((g) => o.job?.undoneBySignal(g.state)) ? o.job.cancelled('The backup') : null;
  if (ctx.output.json) {
    ctx.output.out(JSON.stringify({ ok, dest, warnings: result.warnings, guests: result.guests, ...(o.dryRun ? { plans } : {}) }, null, 2));
  } else if (o.dryRun) {
    for (const p of plans) ctx.output.out([p.title, ...p.steps.map((s) => `  ${s}`)].join('\n'));
    for (const g of result.guests.filter((x) => !x.ok)) ctx.output.err(`virtdeck: ${g.guest}: ${g.error?.sentence}\n  fix: ${g.error?.fix}`);
  } else if (interrupted) ctx.output.err(formatError(interrupted));
  if (interrupted) return interrupted.exitCode;
  return ok ? EXIT.ok : EXIT.failed;
}

function age(fromIso: string, now = Date.now()): string {
  const s = Math.max(0, Math.round((now - Date.parse(fromIso)) / 1000));
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.round(s / 60)}m`;
  if (s < 172800) return `${Math.round(s / 3600)}h`;
  return `${Math.round(s / 86400)}d`;
}

function runSize(r: CatalogRun): number {
  return r.manifest.disks.reduce((s, d) => s + d.bytesWritten, 0);
}

function verifiedText(r: CatalogRun): string {
  const v = r.manifest.verified;
  if (!v) return '-';
  return v.ok ? (v.testRestore ? 'ok+restore' : 'ok') : 'FAILED';
}

export async function backupListCommand(ctx: { host: Parameters<typeof runBackup>[0]; output: Output }, o: { dest?: string }): Promise<ExitCode> {
  const dest = destOf(o.dest);
  const catalog = await readCatalog(ctx.host.sysExec, dest);
  const copies = copyIndex();
  const copiesOf = (guest: string, run: string) => copies.get(`${guest}/${run}`) ?? [];
  if (ctx.output.json) {
    const guests = catalog.map((g) => ({
      guest: g.guest,
      runs: g.runs.map((r) => ({
        name: r.name,
        kind: r.manifest.kind,
        method: r.manifest.method,
        consistency: r.manifest.consistency,
        createdAt: r.manifest.createdAt,
        bytes: runSize(r),
        parent: r.manifest.parent,
        verified: r.manifest.verified,
        note: r.manifest.note,
        copies: copiesOf(g.guest, r.name),
      })),
      partials: g.partials,
      damaged: g.damaged,
    }));
    ctx.output.out(JSON.stringify({ ok: true, dest, guests }, null, 2));
    return EXIT.ok;
  }
  if (catalog.length === 0) {
    ctx.output.out(`No backups in ${dest}.`);
    return EXIT.ok;
  }
  const ascii = asciiOnly();
  const lines: string[] = [];
  for (const g of catalog) {
    lines.push(`${g.guest}`);
    lines.push(`  ${'RUN'.padEnd(22)} ${'KIND'.padEnd(4)} ${'SIZE'.padStart(7)} ${'AGE'.padStart(5)} ${'VERIFIED'.padEnd(10)} PARENT`);
    for (const r of g.runs) {
      const at = parseRunDirName(r.name)?.at.toISOString() ?? r.manifest.createdAt;
      lines.push(
        `  ${fitCell(r.name, 22, ascii)} ${(r.manifest.kind === 'full' ? 'full' : 'inc').padEnd(4)} ${formatBytes(runSize(r)).padStart(7)} ${age(at).padStart(5)} ${verifiedText(r).padEnd(10)} ${r.manifest.parent ?? '-'}${copiesOf(g.guest, r.name).length ? `  copies: ${copiesOf(g.guest, r.name).join(',')}` : ''}`,
      );
    }
    for (const p of g.partials) lines.push(`  ${p}  (incomplete: an interrupted run, not restorable)`);
    for (const d of g.damaged) lines.push(`  ${d.name}  (damaged: ${d.reason})`);
  }
  ctx.output.out(lines.join('\n'));
  return EXIT.ok;
}

export async function backupVerifyCommand(
  ctx: { host: Parameters<typeof runBackup>[0]; output: Output },
  guest: string | undefined,
  run: string | undefined,
  o: { dest?: string; testRestore?: boolean },
): Promise<ExitCode> {
  const dest = destOf(o.dest);
  const reports: RunVerifyReport[] = await verifyRun(ctx.host, {
    dest,
    guest,
    run,
    testRestore: o.testRestore,
    onLine: ctx.output.json ? undefined : (l) => ctx.output.err(l),
    trust: { stateDir: defaultStateDir(), uri: ctx.host.uri },
  });
  const ok = reports.every((r) => r.ok);
  if (ctx.output.json) ctx.output.out(JSON.stringify({ ok, dest, runs: reports }, null, 2));
  else {
    if (reports.length === 0) ctx.output.out(`No backups to verify in ${dest}.`);
    for (const r of reports) {
      ctx.output.out(`${r.guest}/${r.run}: ${r.ok ? `ok${r.testRestore ? ' (test restore equal)' : ''}` : 'FAILED'}`);
      for (const f of r.findings) ctx.output.out(`  ${f}`);
    }
  }
  return ok ? EXIT.ok : EXIT.failed;
}

export function registerBackupCommands(program: Command, kit: CommandKit): void {
  const backup = backupGroup(program);
  backup
    .command('run')
    .description('back up guests: live (backup API or snapshot + commit) or offline, full or incremental')
    .argument('[guest...]', 'guests to back up')
    .option('--all', 'every guest, running or shut off (transient guests excepted)')
    .option('--dest <dir>', 'destination directory (default: backup.defaultDestination in config.json)')
    .option('--full', 'a full backup even where an incremental is possible')
    .option('-n, --dry-run', 'print each guest\'s method and steps; change nothing')
    .addHelpText(
      'after',
      kit.examples([
        'virtdeck backup run --all --dest /mnt/backup',
        'virtdeck backup run web db --dest /mnt/backup --full',
        'virtdeck backup run --all --dry-run',
      ]),
    )
    .action((names: string[], opts: { all?: boolean; dest?: string; full?: boolean; dryRun?: boolean }) =>
      headlessJob((job) => kit.run((ctx) => backupRunCommand(ctx, names, { ...opts, job }))()),
    );
  backup
    .command('list')
    .description('list the backup runs at a destination: guests → runs with kind, size, age, verified, parent')
    .option('--dest <dir>', 'destination directory (default: backup.defaultDestination in config.json)')
    .addHelpText('after', kit.examples(['virtdeck backup list --dest /mnt/backup', 'virtdeck backup list --json']))
    .action((opts: { dest?: string }) => kit.run((ctx) => backupListCommand(ctx, opts))());
  backup
    .command('verify')
    .description('check every image (qemu-img check), the chain and the checksums; --test-restore also restores and compares')
    .argument('[guest]', 'only this guest')
    .argument('[run]', 'only this run (e.g. 20261125T203000Z-inc)')
    .option('--dest <dir>', 'destination directory (default: backup.defaultDestination in config.json)')
    .option('--test-restore', 'restore each run into a temporary image and compare it with the backup')
    .addHelpText('after', kit.examples(['virtdeck backup verify --dest /mnt/backup', 'virtdeck backup verify web 20261125T203000Z-inc --test-restore']))
    .action((guest: string | undefined, run: string | undefined, opts: { dest?: string; testRestore?: boolean }) =>
      kit.run((ctx) => backupVerifyCommand(ctx, guest, run, opts))(),
    );
}
