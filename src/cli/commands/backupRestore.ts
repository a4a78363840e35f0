/**
 * `virtdeck backup prune|schedule|restore|files|extract`: the headless twins of the Backups pane's
 * retention, schedule, whole-guest restore and file browser. Each command body is a function of
 * (ctx, args) returning an exit code, so tests can call it directly.
 */
import { type Command, Option } from 'commander';
import { planRoute } from '../../host/planRoute.js';
import { loadBackupConfig } from '../../jobs/backup.js';
import { type BackupFs, checkRunForExtract, defaultFilesystem, openBackupFs, runDamage, splitFsPath } from '../../jobs/fileRestore.js';
import { type PruneResult, prune } from '../../jobs/prune.js';
import { prepareRestore, refuseDamage, restore } from '../../jobs/restore.js';
import { installSchedule, removeSchedule, scheduleStatus, scheduleWhere } from '../../jobs/schedule.js';
import { resolveDestination } from '../../model/backupConfig.js';
import { findTarget } from '../../model/copyTarget.js';
import { checkGuestName } from '../../model/guestName.js';
import { describePlan } from '../../model/plan.js';
import { formatProgressLine, ProgressTracker } from '../../model/progress.js';
import type { RetentionPolicy } from '../../model/retention.js';
import { parseDays, type SchedulerKind, schedulePlaceText } from '../../model/schedule.js';
import { shown } from '../../model/shown.js';
import { formatBytes } from '../../model/units.js';
import { UserError } from '../../model/userError.js';
import { type HeadlessJob, headlessJob } from '../interrupt.js';
import { asciiOnly, EXIT, type ExitCode, formatError, type Output } from '../output.js';
import { copySource, copySourceForFiles, FROM_HELP } from './backupCopy.js';
import type { GuestCommandContext } from './guest.js';
import type { CommandKit } from './kit.js';
import { stepPrinter } from './stepPrinter.js';

function backupGroup(program: Command): Command {
  return (
    program.commands.find((c) => c.name() === 'backup') ??
    program.command('backup').description('back up guests to a directory, list, verify, prune and restore the runs')
  );
}

function destOf(given: string | undefined): string {
  return resolveDestination(given, loadBackupConfig());
}

function json(out: Output, value: unknown): void {
  out.out(JSON.stringify(value, null, 2));
}

// ------------------------------------------------------------------ prune

const KEEP_FLAGS: [keyof RetentionPolicy, string][] = [
  ['keepLast', '--keep-last'],
  ['keepHourly', '--keep-hourly'],
  ['keepDaily', '--keep-daily'],
  ['keepWeekly', '--keep-weekly'],
  ['keepMonthly', '--keep-monthly'],
  ['keepYearly', '--keep-yearly'],
];

/** --keep-* flags replace the configured retention as a whole (like Proxmox's prune options). */
export function policyFrom(opts: Record<string, string | undefined>, configured: RetentionPolicy): RetentionPolicy {
  const given = KEEP_FLAGS.filter(([k]) => opts[k] !== undefined);
  if (given.length === 0) return configured;
  const policy: RetentionPolicy = {};
  for (const [key, flag] of given) {
    const text = opts[key] as string;
    if (!/^\d+$/.test(text)) throw new UserError(`${flag} ${text} is not a whole number.`, `Write a count, e.g. ${flag} 7.`);
    policy[key] = Number(text);
  }
  return policy;
}

function formatPrune(r: PruneResult): string[] {
  const lines: string[] = [];
  const policy = KEEP_FLAGS.filter(([k]) => r.policy[k] !== undefined).map(([k, f]) => `${f.slice(2)} ${r.policy[k]}`);
  lines.push(`${r.dryRun ? 'Would prune' : 'Pruned'} ${r.dest} with ${policy.length > 0 ? policy.join(', ') : 'no retention set (every complete run is kept)'}:`);
  let guest = '';
  for (const i of r.items) {
    if (i.guest !== guest) {
      guest = i.guest;
      lines.push(`${guest}:`);
    }
    const why =
      i.action === 'remove'
        ? { retention: 'no rule keeps it', stale: 'partial run older than a day', 'interrupted-prune': 'left by an interrupted prune' }[i.reason as string] ?? i.reason
        : i.reason === 'chain'
          ? `needed by ${i.neededBy?.join(', ')}`
          : i.reason === 'instant'
            ? `in use: ${i.usedBy?.join(', ')} runs from it (backup instant); discard it first`
          : i.reason === 'fresh'
            ? 'partial run under a day old (may still be written)'
            : i.reason === 'all'
              ? 'no retention set'
              : `keep-${i.reason}`;
    lines.push(`  ${i.action === 'keep' ? 'keep  ' : 'remove'} ${i.name}  (${why})`);
  }
  const n = r.items.filter((i) => i.action === 'remove').length;
  lines.push(r.dryRun ? `${n} director${n === 1 ? 'y' : 'ies'} would be removed; nothing was changed (--dry-run).` : `${r.removed.length} director${r.removed.length === 1 ? 'y' : 'ies'} removed.`);
  return lines;
}

export async function backupPruneCommand(ctx: GuestCommandContext, guests: string[], opts: Record<string, string | undefined> & { dest?: string; dryRun?: boolean }): Promise<ExitCode> {
  const cfg = loadBackupConfig();
  const dest = resolveDestination(opts.dest, cfg);
  const policy = policyFrom(opts, cfg.retention);
  const r = await prune(ctx.host, dest, policy, { guests, dryRun: Boolean(opts.dryRun) });
  if (ctx.output.json) json(ctx.output, { ok: true, ...r });
  else ctx.output.out(formatPrune(r).join('\n'));
  return EXIT.ok;
}

// ------------------------------------------------------------------ schedule

interface ScheduleFlags {
  root?: string;
  kind?: SchedulerKind;
  dryRun?: boolean;
}

function whenText(d: Date | null): string {
  return d ? `${d.toString().slice(0, 21)} (${d.toISOString()})` : 'never';
}

export async function scheduleShowCommand(ctx: GuestCommandContext, o: ScheduleFlags): Promise<ExitCode> {
  const s = await scheduleStatus(ctx.host, { root: o.root });
  if (ctx.output.json) {
    json(ctx.output, { ok: true, ...s, nextRun: s.nextRun?.toISOString() ?? null });
    return EXIT.ok;
  }
  const lines: string[] = [];
  // A remote host's schedule is on this machine: say so, or an admin looks for it on the host.
  if (s.connectsTo) lines.push(`The schedule of ${s.connectsTo} runs on this machine (${s.writtenOn}) and connects to it.`);
  if (!s.installed) lines.push(`No backup schedule is installed (${s.connectsTo ? 'this machine' : 'this host'} would use ${s.scheduler ?? 'neither cron nor systemd'}).`);
  else if (!s.installed.schedule) lines.push(`${s.installed.files.join(', ')} exist but were not written by virtdeck (or were edited by hand).`);
  else {
    const sc = s.installed.schedule;
    lines.push(`Backups run ${sc.days.length === 0 ? 'every day' : `on ${sc.days.join(',')}`} at ${sc.at} into ${sc.dest}${sc.copyTo?.length ? `, copied to ${sc.copyTo.join(', ')}` : ''}${sc.drill ? ', then a restore drill of every guest' : ''} (${s.installed.kind}: ${s.installed.files.join(', ')}).`);
    lines.push(`Next run: ${whenText(s.nextRun)}`);
    for (const g of s.lastRuns) {
      const logged = g.logged ? `; last result ${g.logged.at}: ${g.logged.text}` : '';
      lines.push(`  ${g.guest}: last run ${g.run ?? 'none'}${g.finishedAt ? ` finished ${g.finishedAt}` : ''}${logged}`);
    }
  }
  ctx.output.out(lines.join('\n'));
  return EXIT.ok;
}

export async function scheduleSetCommand(ctx: GuestCommandContext, o: ScheduleFlags & { at: string; days?: string; dest?: string; drill?: boolean; copyTo?: string }): Promise<ExitCode> {
  const copyTo = o.copyTo ? o.copyTo.split(',').map((t) => t.trim()).filter(Boolean) : [];
  for (const t of copyTo) findTarget(loadBackupConfig().copyTargets, t);
  const dest = destOf(o.dest);
  const change = await installSchedule(ctx.host, { at: o.at, days: parseDays(o.days), dest, ...(copyTo.length ? { copyTo } : {}), ...(o.drill ? { drill: true } : {}) }, { root: o.root, kind: o.kind, dryRun: o.dryRun });
  if (ctx.output.json) {
    json(ctx.output, { ok: true, ...change, nextRun: change.nextRun?.toISOString() ?? null });
    return EXIT.ok;
  }
  const lines = [schedulePlaceText({ writtenOn: change.writtenOn ?? 'this host', connectsTo: change.connectsTo ?? null }, change.kind, change.dryRun)];
  for (const f of change.files) lines.push(`--- ${f.path}`, f.content.trimEnd());
  for (const c of change.commands) lines.push(`${change.dryRun ? 'would run' : 'ran'}: ${c.join(' ')}`);
  lines.push(`Next run: ${whenText(change.nextRun)}`);
  ctx.output.out(lines.join('\n'));
  return EXIT.ok;
}

export async function scheduleRemoveCommand(ctx: GuestCommandContext, o: ScheduleFlags): Promise<ExitCode> {
  const removed = await removeSchedule(ctx.host, { root: o.root, kind: o.kind, dryRun: o.dryRun });
  const where = scheduleWhere(ctx.host);
  const on = where.connectsTo ? ` on this machine (${where.writtenOn}) for ${where.connectsTo}` : '';
  if (ctx.output.json) json(ctx.output, { ok: true, removed, dryRun: Boolean(o.dryRun), ...where });
  else if (removed.length === 0) ctx.output.out(`No backup schedule was installed${on}.`);
  else ctx.output.out(`${o.dryRun ? 'Would remove' : 'Removed (kept as .bak)'}${on}: ${removed.join(', ')}`);
  return EXIT.ok;
}

// ------------------------------------------------------------------ restore

export async function backupRestoreCommand(
  ctx: GuestCommandContext,
  guest: string,
  run: string | undefined,
  o: { dest?: string; from?: string; as?: string; to?: string; keepXml?: boolean; deleteOld?: boolean; allowDamaged?: boolean; dryRun?: boolean; signal?: AbortSignal; job?: HeadlessJob },
): Promise<ExitCode> {
  const fetched = await copySource(ctx.host, o.from, o.dest, guest, run, o.signal);
  try {
    return await restoreFrom(ctx, guest, fetched ? fetched.run : run, { ...o, dest: fetched?.dest ?? o.dest });
  } finally {
    await fetched?.cleanup();
  }
}

async function restoreFrom(
  ctx: GuestCommandContext,
  guest: string,
  run: string | undefined,
  o: { dest?: string; as?: string; to?: string; keepXml?: boolean; deleteOld?: boolean; allowDamaged?: boolean; dryRun?: boolean; signal?: AbortSignal; job?: HeadlessJob },
): Promise<ExitCode> {
  const dest = destOf(o.dest);
  if (o.to && !o.as) throw new UserError('--to goes with --as: the disks of a restore over the guest itself go back where they were.', 'Add --as NEWNAME, or leave out --to.');
  if (o.as !== undefined) checkGuestName(o.as);
  if (o.allowDamaged && !o.as) {
    throw new UserError('--allow-damaged restores a damaged run only under a new name, never over the guest it came from.', 'Add --as NEWNAME --to DIR, or leave out --allow-damaged.');
  }
  const req = { guest, dest, run, asName: o.as, toDir: o.to, keepCurrentXml: Boolean(o.keepXml), deleteOld: Boolean(o.deleteOld), allowDamaged: Boolean(o.allowDamaged) };
  if (o.dryRun) {
    const p = await prepareRestore(ctx.host, req, o.signal);
    refuseDamage(p, req);
    if (ctx.output.json) json(ctx.output, { ok: true, dryRun: true, run: p.found.run.name, name: p.name, disks: p.disks, notes: p.notes, damage: p.damage, steps: describePlan(p.plan, planRoute(ctx.host)) });
    else ctx.output.out([`${p.plan.title} (dry run, nothing changed):`, ...describePlan(p.plan, planRoute(ctx.host)).map((l) => `  ${l}`), ...p.damage.map((d) => `damaged (allowed): ${d}`), ...p.notes].join('\n'));
    return EXIT.ok;
  }
  const r = await restore(ctx.host, {
    ...req,
    signal: o.signal,
    onEvent: stepPrinter(ctx, (e) => {
      if (e.type === 'log' && e.line.startsWith('damaged')) ctx.output.err(`  ${e.line}`);
    }),
  });
  const ok = r.state === 'done';
  const interrupted = o.job?.undoneBySignal(r.state) ? o.job.cancelled('The restore') : null;
  if (ctx.output.json) json(ctx.output, { ok, ...r, error: r.error ? { sentence: r.error.sentence, fix: r.error.fix } : undefined });
  else if (interrupted) ctx.output.err(formatError(interrupted));
  else if (ok) ctx.output.out([`${r.name} restored from ${r.run}: ${r.disks.map((d) => `${d.target} → ${d.path}`).join(', ')}`, ...r.notes].join('\n'));
  else ctx.output.err(`virtdeck: the restore ${r.state}: ${r.error?.sentence ?? ''}\n  fix: ${r.error?.fix ?? 'See the job journal.'}`);
  if (interrupted) return interrupted.exitCode;
  // A run refused as damaged (or any other refusal of input) is exit 2, like every UserError.
  return ok ? EXIT.ok : r.error instanceof UserError ? EXIT.usage : EXIT.failed;
}

// ------------------------------------------------------------------ files / extract

async function withBackupFs<T>(ctx: GuestCommandContext, runDir: string, fn: (fs: BackupFs) => Promise<T>): Promise<T> {
  const fs = await openBackupFs(ctx.host, runDir);
  try {
    return await fn(fs);
  } finally {
    await fs.close();
  }
}

function modeString(type: string, mode: number): string {
  const t = type === 'dir' ? 'd' : type === 'symlink' ? 'l' : type === 'file' ? '-' : '?';
  const bits = 'rwxrwxrwx'.split('').map((c, i) => (mode & (1 << (8 - i)) ? c : '-'));
  return t + bits.join('');
}

/** Says how a copy target's run was reached (restic mount, or restored first) on stderr; `--json` carries it as `source`. */
function sayVia(ctx: GuestCommandContext, guest: string, fetched: { run: string; via: string } | null): void {
  if (fetched && !ctx.output.json) ctx.output.err(`${guest} ${fetched.run}: ${fetched.via}`);
}

export async function backupFilesCommand(ctx: GuestCommandContext, guest: string, run: string, path: string | undefined, o: { dest?: string; from?: string }): Promise<ExitCode> {
  const fetched = await copySourceForFiles(ctx.host, o.from, o.dest, guest, run);
  try {
    sayVia(ctx, guest, fetched);
    return await filesFrom(ctx, guest, fetched ? fetched.run : run, path, { dest: fetched?.dest ?? o.dest, source: fetched?.via });
  } finally {
    await fetched?.cleanup();
  }
}

async function filesFrom(ctx: GuestCommandContext, guest: string, run: string, path: string | undefined, o: { dest?: string; source?: string }): Promise<ExitCode> {
  const { runDir, damage } = await runDamage(ctx.host, destOf(o.dest), guest, run);
  const source = o.source ? { source: o.source } : {};
  // Browsing a damaged run is allowed (it is read-only), but never without saying so.
  if (!ctx.output.json) for (const d of damage) ctx.output.err(`warning: this run is damaged: ${d} Listings may be wrong; \`backup extract\` refuses it without --allow-damaged.`);
  return withBackupFs(ctx, runDir, async (fs) => {
    const fss = await fs.filesystems();
    if (path === undefined) {
      if (ctx.output.json) json(ctx.output, { ok: true, ...source, damaged: damage, disks: fs.disks, filesystems: fss });
      else {
        ctx.output.out(fss.map((f) => [f.device, f.type, f.sizeBytes !== null ? formatBytes(f.sizeBytes) : '-', f.label ?? ''].map(shown).join('\t')).join('\n') || 'No filesystems found.');
        ctx.output.out(`List one with: virtdeck backup files ${guest} ${run} DEVICE:/`);
      }
      return EXIT.ok;
    }
    const spec = splitFsPath(path);
    const device = spec.device ?? defaultFilesystem(fss).device;
    const entries = await fs.list(device, spec.path);
    if (ctx.output.json) json(ctx.output, { ok: true, ...source, damaged: damage, device, path: spec.path, entries });
    else {
      for (const e of entries) {
        const when = e.mtime.toISOString().slice(0, 16).replace('T', ' ');
        ctx.output.out(`${modeString(e.type, e.mode)} ${String(e.sizeBytes).padStart(10)} ${when} ${e.name}${e.type === 'dir' ? '/' : ''}${e.target ? ` -> ${e.target}` : ''}`);
      }
    }
    return EXIT.ok;
  });
}

export async function backupExtractCommand(
  ctx: GuestCommandContext,
  guest: string,
  run: string,
  paths: string[],
  o: { dest?: string; from?: string; to: string; allowDamaged?: boolean; signal?: AbortSignal },
): Promise<ExitCode> {
  const fetched = await copySourceForFiles(ctx.host, o.from, o.dest, guest, run, o.signal);
  try {
    sayVia(ctx, guest, fetched);
    return await extractFrom(ctx, guest, fetched ? fetched.run : run, paths, { ...o, dest: fetched?.dest ?? o.dest, source: fetched?.via });
  } finally {
    await fetched?.cleanup();
  }
}

async function extractFrom(
  ctx: GuestCommandContext,
  guest: string,
  run: string,
  paths: string[],
  o: { dest?: string; to: string; allowDamaged?: boolean; signal?: AbortSignal; source?: string },
): Promise<ExitCode> {
  if (!o.to) throw new UserError('backup extract needs --to HOSTDIR.', 'Add --to with a directory on the host, e.g. --to /root/restored.');
  const tty = Boolean(process.stdout.isTTY) && !ctx.output.json;
  const tracker: { t: ProgressTracker | null; last: number } = { t: null, last: 0 };
  if (!ctx.output.json) ctx.output.out('Checking the run against its manifest (sha256) before anything is copied out…');
  const { runDir } = await checkRunForExtract(ctx.host, {
    dest: destOf(o.dest),
    guest,
    run,
    allowDamaged: Boolean(o.allowDamaged),
    signal: o.signal,
    progress: (fraction, total) => {
      tracker.t ??= new ProgressTracker(total);
      const p = tracker.t.update(fraction, Date.now());
      if (tty && (Date.now() - tracker.last > 250 || fraction >= 1)) {
        tracker.last = Date.now();
        process.stdout.write(`\r    ${formatProgressLine(p, 70, { ascii: asciiOnly() })}${fraction >= 1 ? '\n' : ''}`);
      }
    },
    log: (line) => {
      if (line.startsWith('damaged') && !ctx.output.json) ctx.output.err(`warning: ${line}`);
    },
  });
  return withBackupFs(ctx, runDir, async (fs) => {
    const specs = paths.map(splitFsPath);
    const needDefault = specs.some((s) => s.device === null);
    const fallback = needDefault ? defaultFilesystem(await fs.filesystems()).device : '';
    // One copy-out per filesystem.
    const byDevice = new Map<string, string[]>();
    for (const s of specs) byDevice.set(s.device ?? fallback, [...(byDevice.get(s.device ?? fallback) ?? []), s.path]);
    const written: string[] = [];
    const changed: string[] = [];
    for (const [device, list] of byDevice) written.push(...(await fs.extract(device, list, o.to, (n) => changed.push(n))));
    if (ctx.output.json) json(ctx.output, { ok: true, ...(o.source ? { source: o.source } : {}), written, changed });
    else {
      ctx.output.out(`Extracted to ${o.to}: ${written.join(', ')}`);
      if (changed.length) ctx.output.out([`Made safe on the way out (owner set to the running user; files copied alone are 0600):`, ...changed.map((c) => `  ${c}`)].join('\n'));
    }
    return EXIT.ok;
  });
}

// ------------------------------------------------------------------ registration

function withSignal(kit: CommandKit, fn: (ctx: GuestCommandContext, job: HeadlessJob) => Promise<ExitCode>): Promise<void> {
  return headlessJob((job) => kit.run((ctx) => fn(ctx, job))());
}

const DEST_HELP = 'destination directory (default: backup.defaultDestination in config.json)';

export function registerBackupRestoreCommands(program: Command, kit: CommandKit): void {
  const backup = backupGroup(program);

  const pruneCmd = backup
    .command('prune')
    .description('remove old runs by retention (keep-last, -hourly, -daily, -weekly, -monthly, -yearly); never a run a kept incremental needs')
    .argument('[guest...]', 'only these guests (default: all)')
    .option('--dest <dir>', DEST_HELP)
    .option('-n, --dry-run', 'print what would be kept and removed; change nothing');
  for (const [, flag] of KEEP_FLAGS) pruneCmd.addOption(new Option(`${flag} <n>`, `how many ${flag.slice(7)} runs to keep (replaces config's backup.retention)`));
  pruneCmd
    .addHelpText(
      'after',
      kit.examples(['virtdeck backup prune --dest /mnt/backup --dry-run', 'virtdeck backup prune --keep-last 3 --keep-daily 7 --keep-weekly 4', 'virtdeck backup prune web --keep-monthly 6 --json']),
    )
    .action((guests: string[], opts: Record<string, string | undefined> & { dest?: string; dryRun?: boolean }) => kit.run((ctx) => backupPruneCommand(ctx, guests, opts))());

  const schedule = backup
    .command('schedule')
    .description('show, set or remove the nightly `backup run --all` + `backup prune` (cron.d or a systemd timer)')
    .addHelpText('after', kit.examples(['virtdeck backup schedule show', 'virtdeck backup schedule set --at 02:30 --dest /mnt/backup', 'virtdeck backup schedule set --at 01:00 --days mon,thu --dest /mnt/backup --dry-run', 'virtdeck backup schedule set --at 01:00 --days sun --dest /mnt/backup --drill', 'virtdeck backup schedule remove']));
  const hidden = () => [new Option('--root <dir>', 'write under this root instead of / (tests)').hideHelp(), new Option('--kind <cron|systemd>', 'force the scheduler instead of detecting it').choices(['cron', 'systemd'])];
  const addHidden = (c: Command) => {
    for (const o of hidden()) c.addOption(o);
    return c;
  };
  addHidden(schedule.command('show').description('the schedule, the next run and the last run per guest')).action((o: ScheduleFlags) => kit.run((ctx) => scheduleShowCommand(ctx, o))());
  addHidden(
    schedule
      .command('set')
      .description('install or replace the schedule')
      .requiredOption('--at <HH:MM>', 'time of day (host local time)')
      .option('--days <list>', 'weekdays, e.g. mon,wed,fri (default: every day)')
      .option('--copy-to <targets>', 'after each run, copy it to these copy targets (comma-separated names from backup.copyTargets)')
      .option('--dest <dir>', DEST_HELP)
      .option('--drill', 'after backup and prune, a restore drill of every guest (virtdeck backup drill --all): proof the new runs boot')
      .option('-n, --dry-run', 'print the files; write nothing'),
  ).action((o: ScheduleFlags & { at: string; days?: string; dest?: string; drill?: boolean; copyTo?: string }) => kit.run((ctx) => scheduleSetCommand(ctx, o))());
  addHidden(schedule.command('remove').description('remove the schedule (the files are kept as .bak)').option('-n, --dry-run', 'say what would be removed')).action((o: ScheduleFlags) =>
    kit.run((ctx) => scheduleRemoveCommand(ctx, o))(),
  );

  backup
    .command('restore')
    .description('restore a whole guest from a run (an incremental is rebuilt into a standalone image): over itself (shut off; old disks moved aside) or as a new guest')
    .argument('<guest>', 'the guest the backup is of')
    .argument('[run]', 'run name or unique prefix (default: the newest)')
    .option('--dest <dir>', DEST_HELP)
    .option('--from <target>', FROM_HELP)
    .option('--as <name>', 'restore as a new guest with this name (new UUID and MACs)')
    .option('--to <dir>', 'with --as: directory for the new guest\'s disks')
    .option('--keep-xml', 'over the guest itself: keep its current definition, put back only the disks')
    .option('--delete-old', 'over the guest itself: delete the moved-aside disks after a successful restore')
    .option('--allow-damaged', 'with --as: restore a run that fails its checks (sha256, backup verify) anyway, as a new guest; never over the original')
    .option('-n, --dry-run', 'print the plan; change nothing')
    .addHelpText(
      'after',
      kit.examples([
        'virtdeck backup restore web --dest /mnt/backup --as web-copy --to /var/lib/libvirt/images',
        'virtdeck backup restore web 20261125T203000Z-inc --dest /mnt/backup --dry-run',
        'virtdeck guest shutdown web && virtdeck backup restore web --dest /mnt/backup',
        'virtdeck backup restore web 20261125T203000Z-full --dest /mnt/backup --as web-damaged --to /srv/look --allow-damaged',
      ]),
    )
    .addHelpText(
      'after',
      '\nBefore anything is moved, overwritten or deleted, every image the run needs (its chain too) is read once and\nchecked against the manifest\'s sha256, and the last `backup verify` result is consulted. A damaged run is\nrefused (exit 2) naming the file; --allow-damaged restores it only under a new name (--as).',
    )
    .action((guest: string, run: string | undefined, o: { dest?: string; from?: string; as?: string; to?: string; keepXml?: boolean; deleteOld?: boolean; allowDamaged?: boolean; dryRun?: boolean }) =>
      withSignal(kit, (ctx, job) => backupRestoreCommand(ctx, guest, run, { ...o, signal: job.signal, job })),
    );

  backup
    .command('files')
    .description('browse a run read-only: with no PATH the filesystems, else a directory listing (PATH or DEVICE:PATH)')
    .argument('<guest>', 'guest name')
    .argument('<run>', 'run name, unique prefix, or latest')
    .argument('[path]', 'directory, e.g. /etc or /dev/sda1:/etc')
    .option('--dest <dir>', DEST_HELP)
    .option('--from <target>', FROM_HELP)
    .addHelpText('after', kit.examples(['virtdeck backup files web latest --dest /mnt/backup', 'virtdeck backup files web latest /dev/sda1:/etc']))
    .action((guest: string, run: string, path: string | undefined, o: { dest?: string; from?: string }) => kit.run((ctx) => backupFilesCommand(ctx, guest, run, path, o))());

  backup
    .command('extract')
    .description('copy files or directories out of a run to a host directory (the backup is opened read-only)')
    .argument('<guest>', 'guest name')
    .argument('<run>', 'run name, unique prefix, or latest')
    .argument('<path...>', 'files or directories, e.g. /etc/hosts /dev/sda1:/home/alice')
    .requiredOption('--to <dir>', 'host directory to copy into (created if missing; existing names are refused)')
    .option('--dest <dir>', DEST_HELP)
    .option('--from <target>', FROM_HELP)
    .option('--allow-damaged', 'copy out of a run that fails its checks (sha256, backup verify) anyway')
    .addHelpText('after', kit.examples(['virtdeck backup extract web latest /etc/nginx /etc/hosts --to /root/restored --dest /mnt/backup']))
    .addHelpText('after', '\nThe run (and the chain it builds on) is first read once and checked against its manifest\'s sha256 and the last\n`backup verify` result; a damaged run is refused (exit 2) unless --allow-damaged.')
    .action((guest: string, run: string, paths: string[], o: { dest?: string; from?: string; to: string; allowDamaged?: boolean }) =>
      withSignal(kit, (ctx, job) => backupExtractCommand(ctx, guest, run, paths, { ...o, signal: job.signal })),
    );
}

