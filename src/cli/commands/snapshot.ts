/**
 * Headless twins of the snapshot actions and of start-up recovery:
 *   virtdeck snapshot create|list|revert|delete …
 *   virtdeck recover [--list] [--finish ID | --rollback ID] [--json]
 */
import type { Command } from 'commander';
import type { HostContext } from '../../host/hostContext.js';
import { planRoute } from '../../host/planRoute.js';
import { type SnapshotInfo, snapshotsOfGuests } from '../../host/snapshots.js';
import { listGuests } from '../../host/virsh.js';
import { loadBackupConfig } from '../../jobs/backup.js';
import { detectRecovery, type RecoveryItem, resolveRecovery } from '../../jobs/recovery.js';
import { createSnapshot, deleteSnapshot, gatherSnapshotFacts, revertSnapshot, type SnapshotJobOptions, type SnapshotJobResult, xmlFileFor } from '../../jobs/snapshot.js';
import { describePlan } from '../../model/plan.js';
import { abandonedOverlays, formatAge, planRevertSnapshot, revertLoss, snapshotTree, staleSnapshots } from '../../model/snapshotPlan.js';
import { UserError } from '../../model/userError.js';
import { type HeadlessJob, headlessJob, undoneOnSignal } from '../interrupt.js';
import { EXIT, type ExitCode, type Output } from '../output.js';
import type { CommandKit } from './kit.js';

interface Ctx {
  host: HostContext;
  output: Output;
}

function maxAgeDays(): number {
  try {
    return loadBackupConfig().snapshotMaxAgeDays;
  } catch {
    return 7;
  }
}

function snapshotJson(s: SnapshotInfo, now: Date, limitDays: number) {
  return {
    name: s.name,
    description: s.description,
    location: s.location,
    state: s.state,
    withMemory: s.withMemory,
    parent: s.parent,
    current: s.current,
    createdAt: s.createdAt.toISOString(),
    ageSeconds: Math.round((now.getTime() - s.createdAt.getTime()) / 1000),
    tooOld: staleSnapshots([s], limitDays, now).length > 0,
    disks: s.disks,
  };
}

/** Lines for people: a tree per guest with kind, age and the too-old mark. */
export function formatSnapshotList(byGuest: Map<string, SnapshotInfo[]>, now: Date, limitDays: number): string {
  const out: string[] = [];
  for (const [guest, snaps] of byGuest) {
    if (snaps.length === 0) continue;
    out.push(`${guest}`);
    for (const { snap, depth } of snapshotTree(snaps)) {
      const old = staleSnapshots([snap], limitDays, now).length > 0 ? `  ! older than ${limitDays} days` : '';
      const kind = `${snap.location}${snap.withMemory ? '+memory' : ''}`;
      const name = `${'  '.repeat(depth + 1)}${snap.current ? '*' : ' '}${snap.name}`;
      out.push(`${name.padEnd(28)} ${kind.padEnd(16)} ${formatAge(now.getTime() - snap.createdAt.getTime()).padStart(8)} ago${snap.description ? `  ${snap.description}` : ''}${old}`);
    }
  }
  return out.length ? out.join('\n') : 'No guest has a snapshot.';
}

/** A snapshot job under Ctrl-C (see cli/interrupt.ts): the body gets the signal and an undo printer. */
function snapshotJob(kit: CommandKit, what: string, body: (ctx: Ctx, opts: Pick<SnapshotJobOptions, 'signal' | 'onEvent'>, job: HeadlessJob) => Promise<ExitCode>): Promise<void> {
  return headlessJob((job) => kit.run((ctx) => undoneOnSignal(job, what, ctx.output.err, (onEvent) => body(ctx, { signal: job.signal, onEvent }, job)))());
}

function printResult(ctx: Ctx, r: SnapshotJobResult, done: string, dryRun: boolean, job?: HeadlessJob): ExitCode {
  // Cancelled before its first step (a signal while the facts were read): nothing was done.
  if (r.run && job?.undoneBySignal(r.run.state)) throw job.cancelled(r.plan.title);
  if (ctx.output.json) {
    ctx.output.out(JSON.stringify({ ok: true, dryRun, title: r.plan.title, steps: describePlan(r.plan, planRoute(ctx.host)), state: r.run?.state ?? 'planned' }, null, 2));
  } else if (dryRun) {
    ctx.output.out([r.plan.title, ...describePlan(r.plan, planRoute(ctx.host))].join('\n'));
  } else {
    ctx.output.out(done);
  }
  return EXIT.ok;
}

async function listCommand(ctx: Ctx, guest: string | undefined): Promise<ExitCode> {
  const guests = await listGuests(ctx.host);
  const chosen = guest ? guests.filter((g) => g.name === guest) : guests;
  if (guest && chosen.length === 0) throw new UserError(`There is no guest named "${guest}".`, 'Run `virtdeck guest list` to see the names (they are case-sensitive).');
  const byGuest = await snapshotsOfGuests(ctx.host, chosen);
  const now = new Date();
  const limit = maxAgeDays();
  if (ctx.output.json) {
    const list = [...byGuest].map(([g, snaps]) => ({ guest: g, snapshots: snaps.map((s) => snapshotJson(s, now, limit)) }));
    ctx.output.out(JSON.stringify({ ok: true, maxAgeDays: limit, guests: list }, null, 2));
  } else {
    ctx.output.out(formatSnapshotList(byGuest, now, limit));
  }
  return EXIT.ok;
}

async function revertCommand(
  ctx: Ctx,
  guest: string,
  name: string,
  flags: { yes?: boolean; dryRun?: boolean; removeOverlay?: boolean; start?: boolean },
  run: Pick<SnapshotJobOptions, 'signal' | 'onEvent'> = {},
  job?: HeadlessJob,
): Promise<ExitCode> {
  // commander sets start to true unless --no-start; only the explicit "no" overrides "as it was".
  const o = { ...flags, start: flags.start === false ? false : undefined };
  const facts = await gatherSnapshotFacts(ctx.host, guest);
  const plan = planRevertSnapshot(name, facts, { xmlFile: xmlFileFor(guest), removeAbandoned: o.removeOverlay, start: o.start });
  const snap = facts.snapshots.find((s) => s.name === name) as SnapshotInfo;
  const loss = revertLoss(guest, snap, facts.state);
  if (o.dryRun || !o.yes) {
    if (!o.dryRun) throw new UserError(loss, `Add --yes to revert: virtdeck snapshot revert ${guest} ${name} --yes`);
    return printResult(ctx, { plan }, '', true);
  }
  const r = await revertSnapshot(ctx.host, guest, name, { ...run, removeAbandoned: o.removeOverlay, start: o.start });
  const kept = snap.location === 'external' && !o.removeOverlay ? abandonedOverlays(name, facts) : [];
  const how = snap.location === 'external' ? ' (libvirt 9.0 cannot revert external snapshots, so virtdeck made a new overlay on the files the snapshot froze)' : '';
  const note = kept.length ? `\nThe writes since the snapshot are still in ${kept.join(', ')}; delete with --remove-overlay next time, or by hand.` : '';
  return printResult(ctx, r, `${guest} is back at "${name}"${how}.${note}`, false, job);
}

// ---------------------------------------------------------------------------------------------
// recover

function itemJson(i: RecoveryItem) {
  return { kind: i.kind, id: i.id, title: i.title, explanation: i.explanation, finish: i.finish, rollback: i.rollback };
}

export function formatRecoveryItems(items: RecoveryItem[]): string {
  if (items.length === 0) return 'Nothing was left half-done.';
  return items
    .map((i) => [`${i.id}  ${i.title}`, ...i.explanation.map((l) => `  ${l}`), `  ${i.finish}`, `  ${i.rollback ?? 'Roll back: not possible (it would lose data); finish or leave it.'}`].join('\n'))
    .join('\n\n');
}

async function recoverCommand(ctx: Ctx, o: { finish?: string; rollback?: string }, job?: HeadlessJob): Promise<ExitCode> {
  const items = await detectRecovery(ctx.host);
  const id = o.finish ?? o.rollback;
  if (!id) {
    if (ctx.output.json) ctx.output.out(JSON.stringify({ ok: true, items: items.map(itemJson) }, null, 2));
    else {
      ctx.output.out(formatRecoveryItems(items));
      if (items.length) ctx.output.out('\nChoose per item: virtdeck recover --finish ID, or --rollback ID.');
    }
    return EXIT.ok;
  }
  if (o.finish && o.rollback) throw new UserError('--finish and --rollback cannot go together.', 'Choose one per run.');
  const item = items.find((i) => i.id === id);
  if (!item) throw new UserError(`Nothing to recover is called "${id}".`, 'Run `virtdeck recover --list` to see the ids.');
  if (o.rollback && item.rollback === null) throw new UserError(`${item.title}: it cannot be rolled back without losing data.`, `Finish it: virtdeck recover --finish ${id}`);
  const r = await resolveRecovery(ctx.host, item, o.finish ? 'finish' : 'rollback', {
    signal: job?.signal,
    onEvent: (e) => {
      if (e.type === 'undo') ctx.output.err(`undo: ${e.title}`);
      else if (e.type === 'step-start' && !ctx.output.json) ctx.output.err(`step ${e.index + 1}: ${e.step.title}`);
    },
  });
  // A finish cancelled by Ctrl-C rolls the whole job back.
  if (job?.undoneBySignal(r.state)) throw job.cancelled(`Finishing ${item.title}`);
  const ok = ['done', 'rolled-back', 'committed', 'committed-offline', 'not-on-overlay'].includes(r.state);
  if (ctx.output.json) ctx.output.out(JSON.stringify({ ok, id: r.id, state: r.state, message: r.message }, null, 2));
  else (ok ? ctx.output.out : ctx.output.err)(r.message);
  return ok ? EXIT.ok : EXIT.failed;
}

export function registerSnapshotCommands(program: Command, kit: CommandKit): void {
  const snap = program
    .command('snapshot')
    .description('snapshots for risky changes: a way back, not a backup (old ones are flagged)')
    .addHelpText('after', kit.examples(['virtdeck snapshot create web before-update --description "apt upgrade"', 'virtdeck snapshot list', 'virtdeck snapshot revert web before-update --yes', 'virtdeck snapshot delete web before-update']));

  snap
    .command('create')
    .description('take a named snapshot: internal (with memory when running) for qcow2 guests, external disk-only otherwise')
    .argument('<guest>', 'guest name')
    .argument('<name>', 'snapshot name (letters, digits, . _ -)')
    .option('-d, --description <text>', 'what the snapshot is for')
    .option('-n, --dry-run', 'print the plan only')
    .action((guest: string, name: string, o: { description?: string; dryRun?: boolean }) =>
      snapshotJob(kit, `The snapshot of ${guest}`, async (ctx, run, job) => {
        const r = await createSnapshot(ctx.host, guest, { name, description: o.description }, { ...run, dryRun: o.dryRun });
        return printResult(ctx, r, `Snapshot "${name}" of ${guest} taken: ${r.plan.title}.`, Boolean(o.dryRun), job);
      }),
    );

  snap
    .command('list')
    .description('snapshots as a tree with kind and age; * marks the current one, ! the ones kept too long')
    .argument('[guest]', 'only this guest')
    .action((guest: string | undefined) => kit.run((ctx) => listCommand(ctx, guest))());

  snap
    .command('revert')
    .description('go back to a snapshot; everything written since is lost (external: virtdeck makes a new overlay on the frozen files)')
    .argument('<guest>', 'guest name')
    .argument('<name>', 'snapshot name')
    .option('--yes', 'confirm; without it the command says what would be lost')
    .option('--remove-overlay', 'external: also delete the overlay that holds the writes since the snapshot')
    .option('--no-start', 'external: leave the guest off afterwards')
    .option('-n, --dry-run', 'print the plan only')
    .action((guest: string, name: string, o: { yes?: boolean; removeOverlay?: boolean; start?: boolean; dryRun?: boolean }) =>
      snapshotJob(kit, `The revert of ${guest}`, (ctx, run, job) => revertCommand(ctx, guest, name, o, run, job)),
    );

  snap
    .command('delete')
    .description('delete a snapshot; external ones are merged back (blockcommit live, qemu-img commit when off)')
    .argument('<guest>', 'guest name')
    .argument('<name>', 'snapshot name')
    .option('--remove-overlay', 'also delete overlays an earlier revert left behind')
    .option('-n, --dry-run', 'print the plan only')
    .action((guest: string, name: string, o: { removeOverlay?: boolean; dryRun?: boolean }) =>
      snapshotJob(kit, `Deleting the snapshot of ${guest}`, async (ctx, run, job) => {
        const r = await deleteSnapshot(ctx.host, guest, name, { ...run, dryRun: o.dryRun, removeAbandoned: o.removeOverlay });
        return printResult(ctx, r, `Snapshot "${name}" of ${guest} deleted.`, Boolean(o.dryRun), job);
      }),
    );

  program
    .command('recover')
    .description('jobs an earlier virtdeck left half-done, and guests left on a backup overlay: list, finish or roll back')
    .option('--list', 'list only (the default)')
    .option('--finish <id>', 'run the rest of that job again / merge that overlay back')
    .option('--rollback <id>', 'undo what that job did')
    .addHelpText('after', kit.examples(['virtdeck recover', 'virtdeck recover --finish 20261125T203000Z-convert-1a2b3c', 'virtdeck recover --rollback 20261125T203000Z-convert-1a2b3c', 'virtdeck recover --finish web:vda']))
    .action((o: { finish?: string; rollback?: string }) => headlessJob((job) => kit.run((ctx) => recoverCommand(ctx, o, job))()));
}
