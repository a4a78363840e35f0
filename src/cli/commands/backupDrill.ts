/**
 * `virtdeck backup drill GUEST… | --all`: start each guest's newest run as an isolated throwaway
 * copy, wait for it to boot, discard it, record the result (jobs/drill.ts). Exit 0 when every
 * drilled guest booted, 1 when one did not (a host failure: the backup is not proven), 2 for bad input.
 */
import type { Command } from 'commander';
import { loadBackupConfig } from '../../jobs/backup.js';
import { readCatalog } from '../../jobs/backupCatalog.js';
import { type DrillOutcome, runDrill } from '../../jobs/drill.js';
import { resolveDestination } from '../../model/backupConfig.js';
import { checkGuestName } from '../../model/guestName.js';
import { UserError } from '../../model/userError.js';
import { type HeadlessJob, headlessJob } from '../interrupt.js';
import { EXIT, type ExitCode } from '../output.js';
import type { GuestCommandContext } from './guest.js';
import type { CommandKit } from './kit.js';
import { stepPrinter } from './stepPrinter.js';

export interface DrillFlags {
  all?: boolean;
  dest?: string;
  timeout?: string;
  dir?: string;
  signal?: AbortSignal;
  job?: HeadlessJob;
}

function parseTimeout(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!/^\d+$/.test(text.trim()) || n < 1 || n > 86_400) throw new UserError(`--timeout ${text} is not a number of seconds between 1 and 86400.`, 'Give the seconds to wait for the boot, for example --timeout 300.');
  return n;
}

function line(r: DrillOutcome): string {
  const left = r.cleanedUp ? '' : ` The copy ${r.name} could not be discarded: virtdeck backup instant discard ${r.name}`;
  return r.ok ? `${r.guest}: restorable. ${r.run} booted in ${r.bootSeconds} s (${r.evidence}); the copy is discarded.${left}` : `${r.guest}: drill FAILED for ${r.run}: ${r.error}.${left}`;
}

export async function backupDrillCommand(ctx: GuestCommandContext, names: string[], o: DrillFlags): Promise<ExitCode> {
  if (o.all && names.length > 0) throw new UserError('--all and guest names do not go together.', 'Give either --all or the guests to drill.');
  if (!o.all && names.length === 0) throw new UserError('Which guests? No guest was named.', 'Name the guests (virtdeck backup drill web) or pass --all.');
  for (const n of names) checkGuestName(n);
  const timeoutS = parseTimeout(o.timeout);
  const dest = resolveDestination(o.dest, loadBackupConfig());
  const signal = o.job?.signal ?? o.signal;
  const guests = o.all ? (await readCatalog(ctx.host.sysExec, dest, signal)).filter((g) => g.runs.length > 0).map((g) => g.guest) : names;
  const results: DrillOutcome[] = [];
  const printer = ctx.output.json ? undefined : stepPrinter(ctx);
  for (const guest of guests) {
    if (signal?.aborted) break;
    let lastShown = -1;
    const r = await runDrill(ctx.host, {
      guest,
      dest,
      timeoutS,
      dir: o.dir,
      signal,
      onEvent: printer,
      onWait: (s, t) => {
        // A line every 10 s: an admin watching a cron log or a terminal sees it is alive.
        if (!ctx.output.json && s >= lastShown + 10) {
          lastShown = s;
          ctx.output.err(`${guest}: waiting for the copy to boot: ${s} of ${t} s`);
        }
      },
    });
    results.push(r);
    if (!ctx.output.json) (r.ok ? ctx.output.out : ctx.output.err)(line(r));
  }
  const ok = results.every((r) => r.ok && r.cleanedUp);
  if (ctx.output.json) ctx.output.out(JSON.stringify({ ok, dest, drills: results }, null, 2));
  if (o.job?.signal.aborted) return o.job.cancelled('The drill').exitCode;
  return ok ? EXIT.ok : EXIT.failed;
}

export function registerBackupDrillCommands(program: Command, kit: CommandKit): void {
  const backup = program.commands.find((c) => c.name() === 'backup') ?? program.command('backup');
  backup
    .command('drill')
    .description("prove a guest's newest backup boots: start it isolated under a throwaway name, wait for the boot, discard it, record the result")
    .argument('[guests...]', 'the guests whose backups to drill')
    .option('--all', 'every guest with a backup at the destination')
    .option('--dest <dir>', 'destination directory (default: backup.defaultDestination in config.json)')
    .option('--timeout <seconds>', 'how long to wait for serial-console output or a guest-agent answer (default 180, or 600 without KVM)')
    .option('--dir <dir>', 'directory for the throwaway overlays (default /var/lib/libvirt/images)')
    .addHelpText('after', kit.examples(['virtdeck backup drill web --dest /mnt/backup', 'virtdeck backup drill --all --timeout 900 --json']))
    .addHelpText(
      'after',
      '\nThe copy runs from the backup itself (nothing copied, the run only read) with its network links down, and is\ndiscarded afterwards whatever happened. A boot is the first line on its serial console or a guest-agent ping.',
    )
    .action((names: string[], o: DrillFlags) => headlessJob((job) => kit.run((ctx) => backupDrillCommand(ctx, names, { ...o, signal: job.signal, job }))()));
}
