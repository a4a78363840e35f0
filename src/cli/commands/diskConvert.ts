/**
 * `virtdeck disk convert`: the round-trip wizard's headless twin. Same plan (printed by --dry-run),
 * same runner and journal; progress goes to stderr — redrawn in place on a terminal, one line every
 * few seconds otherwise, so logs of cron jobs stay readable.
 */
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { stateDir } from '../../config/paths.js';
import { planRoute } from '../../host/planRoute.js';
import { prepareConvert, runConvert } from '../../jobs/convert.js';
import type { RunnerEvent } from '../../jobs/runner.js';
import { describeTarget, PRESETS, resolvedDest, targetFrom } from '../../model/convertPlan.js';
import type { DiskBus } from '../../model/domainXml.js';
import { describePlan } from '../../model/plan.js';
import { formatProgressLine } from '../../model/progress.js';
import { shown } from '../../model/shown.js';
import { UserError } from '../../model/userError.js';
import { headlessJob, undoPrinter } from '../interrupt.js';
import { asciiOnly, EXIT, type ExitCode, type Output, streamWriter } from '../output.js';
import type { GuestCommandContext } from './guest.js';
import type { CommandKit } from './kit.js';

export interface ConvertFlags {
  to: string;
  dest?: string;
  options?: string;
  repoint?: boolean;
  bus?: string;
  removeOriginal?: boolean;
  dryRun?: boolean;
  /** Run in a detached worker that survives this terminal; print the job id and return. */
  detach?: boolean;
}

const BUSES = ['ide', 'sata', 'scsi', 'virtio'];

/** Progress printer: in place on a TTY, else a line when the step changes, every `everyMs`, and at 100 % once. */
export function progressPrinter(err: (text: string) => void, opts: { tty: boolean; columns?: number; everyMs?: number; total: number }) {
  let lastLine = 0;
  let lastIndex = -1;
  // qemu-img reports 100 % more than once; a log needs it once per step.
  let fullAt = -1;
  return (e: RunnerEvent) => {
    if (e.type === 'step-start') {
      if (opts.tty && lastIndex >= 0) err('\n');
      lastIndex = e.index;
      err(`${e.index + 1}/${opts.total} ${shown(e.step.title)}${opts.tty ? '' : '\n'}`);
      if (opts.tty && !e.step.progress) err('\n');
    } else if (e.type === 'progress') {
      const label = `${e.index + 1}/${opts.total} `;
      const line = label + formatProgressLine(e.progress, (opts.columns ?? 80) - label.length - 1, { ascii: asciiOnly() });
      const full = e.progress.percent >= 100;
      if (opts.tty) err(`\r${line}`);
      else if (full ? fullAt !== e.index : Date.now() - lastLine >= (opts.everyMs ?? 5000)) {
        lastLine = Date.now();
        if (full) fullAt = e.index;
        err(`${line}\n`);
      }
    } else if (e.type === 'undo') err(`${opts.tty ? '\n' : ''}undo: ${shown(e.title)}\n`);
    else if (e.type === 'log') err(`${shown(e.line)}\n`);
  };
}

export async function convertCommand(ctx: GuestCommandContext, source: string, flags: ConvertFlags, io: { tty?: boolean; columns?: number } = {}): Promise<ExitCode> {
  const out: Output = ctx.output;
  if (flags.bus && !BUSES.includes(flags.bus)) throw new UserError(`"${flags.bus}" is not a disk bus.`, `Use one of ${BUSES.join(', ')}.`);
  if (flags.bus && !flags.repoint) throw new UserError('--bus only goes with --repoint.', 'Add --repoint to move the guest to the new image on that bus.');
  const target = targetFrom(flags.to, flags.options);
  const prepared = await prepareConvert(ctx.host, {
    source: resolve(source),
    target,
    dest: flags.dest ? resolve(flags.dest) : undefined,
    repoint: flags.repoint ? { bus: flags.bus as DiskBus | undefined } : undefined,
    keepOriginal: !flags.removeOriginal,
  });
  const refusal = prepared.check.refusals[0];
  if (refusal || !prepared.plan) throw refusal ?? new UserError('Nothing to do.', 'Check the options.');
  const plan = prepared.plan;
  const dest = resolvedDest(prepared.request);
  if (flags.dryRun) {
    if (out.json) out.out(JSON.stringify({ ok: true, dryRun: true, dest, target: describeTarget(target), warnings: prepared.check.warnings, steps: describePlan(plan, planRoute(ctx.host)), plan }, null, 2));
    else out.out([...prepared.check.warnings.map((w) => `warning: ${w}`), ...describePlan(plan, planRoute(ctx.host))].join('\n'));
    return EXIT.ok;
  }
  for (const w of prepared.check.warnings) out.err(`warning: ${w}`);
  if (flags.detach) {
    const { launchDetached } = await import('../../jobs/detached.js');
    const job = await launchDetached(ctx.host, plan, { stateDir: stateDir() });
    if (out.json) out.out(JSON.stringify({ ok: true, detached: true, id: job.id, pid: job.pid, dest, journal: job.journalPath, log: job.logPath }, null, 2));
    else out.out([`Started job ${job.id} (worker pid ${job.pid ?? 'starting'}): ${prepared.request.source.path} → ${dest}.`, `Follow it:  virtdeck job log ${job.id} --follow`, `Cancel it:  virtdeck job cancel ${job.id}`].join('\n'));
    return EXIT.ok;
  }
  const write = streamWriter(process.stderr);
  const tty = io.tty ?? Boolean(process.stderr.isTTY);
  return headlessJob(async (job) => {
    const r = await runConvert(ctx.host, plan, {
      stateDir: stateDir(),
      signal: job.signal,
      onEvent: out.json ? undoPrinter(write) : progressPrinter(write, { tty, columns: io.columns ?? process.stderr.columns, total: plan.steps.length }),
    });
    if (!out.json && tty) write('\n');
    if (job.undoneBySignal(r.state)) throw job.cancelled('The conversion');
    if (r.state !== 'done') {
      if (r.error) throw r.error;
      throw new UserError(`The conversion was ${r.state}; what it had done was undone.`, `The journal ${r.journal.path} has the details.`);
    }
    if (out.json) out.out(JSON.stringify({ ok: true, dest, source: prepared.request.source.path, journal: r.journal.path, repointed: prepared.request.repoint?.guest ?? null }, null, 2));
    else out.out(`${prepared.request.source.path} → ${dest}: converted and verified identical${prepared.request.repoint ? `; ${prepared.request.repoint.guest} now uses it` : ''}.`);
    return EXIT.ok;
  });
}

export function registerDiskConvertCommands(program: Command, kit: CommandKit): void {
  const disk = program.commands.find((c) => c.name() === 'disk') ?? program.command('disk');
  disk
    .command('convert')
    .description('convert a disk image (raw, vmdk, qcow2) beside the original, verify it, optionally repoint the guest')
    .argument('<source>', 'the image to convert')
    .requiredOption('--to <target>', `${PRESETS.map((p) => `${p.to} (${p.label})`).join('; ')}; or another format (vdi, vhdx, vpc) with -o`)
    .option('--dest <path>', 'where the new image goes (default: beside the source, new extension)')
    .option('-o, --options <opts>', 'qemu-img -o options, e.g. adapter_type=ide or hwversion=7')
    .option('--repoint', 'point the guest that uses the source at the new image (driver type and path)')
    .option('--bus <bus>', 'with --repoint: move the disk to this bus (ide, sata, scsi, virtio)')
    .option('--remove-original', 'remove the source once everything else succeeded (last step)')
    .option('-n, --dry-run', 'print the plan only; change nothing')
    .option('--detach', 'run in the background in a worker that survives this terminal and the SSH session; prints the job id')
    .addHelpText(
      'after',
      kit.examples([
        'virtdeck disk convert /srv/vm/web.vmdk --to raw --dry-run',
        'virtdeck disk convert /srv/vm/web.raw --to vmdk            # VMware, SCSI lsilogic, v6',
        'virtdeck disk convert /srv/vm/web.qcow2 --to vmdk-flat --dest /export/web.vmdk',
        'virtdeck disk convert /srv/vm/web.vmdk --to qcow2 --repoint --bus virtio',
        'virtdeck disk convert /srv/vm/big.raw --to vmdk --detach   # then: virtdeck job log ID --follow',
      ]),
    )
    .action((source: string, opts: ConvertFlags) => kit.run((ctx) => convertCommand(ctx, source, opts))());
}
