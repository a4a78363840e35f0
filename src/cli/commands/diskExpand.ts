/**
 * `virtdeck disk expand PATH --size 35G|+15G`: the headless twin of the expansion wizard, with the
 * same facts, checks and plan. `--dry-run` prints the plan and changes nothing.
 */
import type { Command } from 'commander';
import { planRoute } from '../../host/planRoute.js';
import { type ExpandOutcome, planFor, runExpand } from '../../jobs/expand.js';
import { type ExpandDecision, type ExpandFacts, expandKeeps } from '../../model/expandPlan.js';
import { describePlan, type PlanRoute } from '../../model/plan.js';
import { formatBytesLong, parseSize } from '../../model/units.js';
import { UserError } from '../../model/userError.js';
import { headlessJob } from '../interrupt.js';
import { EXIT, type ExitCode } from '../output.js';
import { diskCommand } from './disk.js';
import type { GuestCommandContext } from './guest.js';
import type { CommandKit } from './kit.js';

export interface ExpandCliOptions {
  size?: string;
  growFs: boolean;
  dryRun: boolean;
  /** Copy the image beside it, compared, before growing it in place. */
  keepCopy?: boolean;
  stateDir?: string;
}

function decisionJson(d: ExpandDecision, route: PlanRoute | null, facts: ExpandFacts) {
  return {
    // What the wizard shows as "Inside:" (null: not looked inside, e.g. a running guest or --no-grow-fs).
    os: facts.layout ? facts.layout.os : null,
    route: d.route,
    currentBytes: d.currentBytes,
    targetBytes: d.targetBytes,
    guestSide: d.guestSide.kind === 'offline' ? { kind: 'offline', description: d.guestSide.description } : d.guestSide,
    warnings: d.warnings,
    needBytes: d.needBytes,
    keepCopy: d.keepCopy?.keep ?? null,
    plan: describePlan(d.plan, route),
  };
}

function summaryLines(d: ExpandDecision, o: ExpandOutcome): string[] {
  const lines = [`done: ${formatBytesLong(d.currentBytes)} → ${formatBytesLong(o.verifiedBytes ?? d.targetBytes)} (verified)`];
  if (o.grow) lines.push(`filesystem: ${formatBytesLong(o.grow.fsBytesBefore)} → ${formatBytesLong(o.grow.fsBytesAfter)} (verified)`);
  if (o.keptOriginal) lines.push(`the original is kept in ${o.keptOriginal}/ (remove it once the guest boots fine)`);
  if (o.keptCopy) lines.push(`the original is kept as ${o.keptCopy} (remove it once the guest boots fine)`);
  if (o.instructions) lines.push('', o.instructions.text.trimEnd(), '', `(saved to ${o.instructions.file})`);
  return lines;
}

export async function expandCommand(ctx: GuestCommandContext, path: string, opts: ExpandCliOptions): Promise<ExitCode> {
  if (!opts.size) throw new UserError('The new size is missing.', 'Add --size 35G (the new size) or --size +15G (grow by 15 GiB).');
  // A size that cannot be read is refused before anything is read from the host.
  parseSize(opts.size);
  const req = { size: opts.size, growFs: opts.growFs, keepCopy: Boolean(opts.keepCopy) };
  const { facts, decision } = await planFor(ctx.host, path, req);
  const out = ctx.output;
  if (opts.dryRun) {
    if (out.json) out.out(JSON.stringify({ ok: true, dryRun: true, ...decisionJson(decision, planRoute(ctx.host), facts) }, null, 2));
    else {
      out.out(`${decision.plan.title}${decision.guestSide.kind === 'instructions' ? ` (guest side by hand: ${decision.guestSide.reason})` : ''}`);
      for (const w of decision.warnings) out.out(`warning: ${w}`);
      out.out(describePlan(decision.plan, planRoute(ctx.host)).join('\n'));
      out.out(expandKeeps(facts, decision));
    }
    return EXIT.ok;
  }
  for (const w of decision.warnings) if (!out.json) out.err(`warning: ${w}`);
  const total = decision.plan.steps.length;
  const outcome: ExpandOutcome = await headlessJob(async (job) => {
    const o = await runExpand(ctx.host, facts, decision, {
      signal: job.signal,
      stateDir: opts.stateDir,
      onEvent: (e) => {
        // What a cancel undoes goes to stderr even with --json.
        if (e.type === 'undo') out.err(`undo: ${e.title}`);
        if (out.json) return;
        if (e.type === 'step-start') out.err(`${e.index + 1}/${total} ${e.step.title}`);
        else if (e.type === 'log') out.err(`  ${e.line}`);
      },
    });
    if (job.undoneBySignal(o.state)) throw job.cancelled('The expansion');
    return o;
  });
  if (outcome.state !== 'done') {
    if (outcome.result.error) throw outcome.result.error;
    const copy = decision.keepCopy ? `; a finished copy of the original stays as ${decision.keepCopy.keep}` : '';
    const left = decision.route === 'vmdk' ? 'the original image is unchanged' : `what was already grown stays grown (a grow in place is not undone)${copy}`;
    throw new UserError(`The expansion ended ${outcome.state}; ${left}.`, 'Start it again when ready.');
  }
  if (out.json) {
    out.out(
      JSON.stringify(
        {
          ok: true,
          ...decisionJson(decision, planRoute(ctx.host), facts),
          verifiedBytes: outcome.verifiedBytes,
          grow: outcome.grow,
          keptOriginal: outcome.keptOriginal,
          keptCopy: outcome.keptCopy ?? null,
          instructions: outcome.instructions?.text,
          instructionsFile: outcome.instructions?.file,
          journal: outcome.result.journal.path,
        },
        null,
        2,
      ),
    );
  } else out.out(summaryLines(decision, outcome).join('\n'));
  return EXIT.ok;
}

export function registerDiskExpandCommands(program: Command, kit: CommandKit): void {
  diskCommand(program)
    .command('expand')
    .description('grow a disk image (raw, qcow2, vmdk; online with virsh blockresize when its guest runs) and the partition inside it')
    .argument('<path>', 'the image file')
    .option('-s, --size <size>', 'new size (35G) or growth (+15G); powers of 1024')
    .option('--no-grow-fs', 'leave the partition and filesystem inside as they are')
    .option('--keep-copy', 'first copy the image beside it as NAME.virtdeck-orig and compare it (raw or qcow2, guest shut off)')
    .option('-n, --dry-run', 'print the plan only; change nothing')
    .addHelpText(
      'after',
      `
Shrinking is out of scope. A vmdk is grown through a temporary raw copy beside it (checked for
space first); the original is kept in NAME.virtdeck-orig/. A raw or qcow2 image is grown in place and
no copy is kept unless --keep-copy asks for one (checked for space, compared, never over a file). With the guest off and a simple layout
the last partition and its ext2/3/4, xfs, ntfs or LVM volume grow offline (libguestfs); otherwise
the steps for inside the guest are printed and saved.
${kit.examples([
  'virtdeck disk expand /var/lib/libvirt/images/web.qcow2 --size +10G --dry-run',
  'virtdeck disk expand /var/lib/libvirt/images/web.qcow2 --size +10G --keep-copy',
  'virtdeck disk expand /srv/vm/trinity-server.vmdk --size 35G',
  'virtdeck disk expand /var/lib/libvirt/images/db.raw --size 100G --no-grow-fs --json',
])}`,
    )
    .action((path: string, opts: { size?: string; growFs: boolean; dryRun?: boolean; keepCopy?: boolean }) =>
      kit.run((ctx) => expandCommand(ctx, path, { size: opts.size, growFs: opts.growFs !== false, dryRun: Boolean(opts.dryRun), keepCopy: Boolean(opts.keepCopy) }))(),
    );
}
