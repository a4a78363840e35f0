/**
 * `virtdeck import ova FILE.ova|FILE.ovf`: the same options, review (--dry-run), journal and undo
 * as `import vmx`; the disks are always converted (qcow2 unless --convert raw).
 */
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { inspectOva, prepareOvaImport, runOvaImport } from '../../jobs/importOva.js';
import { importFailure } from '../../jobs/importVmware.js';
import { buildImportDomain, importName } from '../../model/importVmwarePlan.js';
import { describePlan } from '../../model/plan.js';
import { UserError } from '../../model/userError.js';
import { headlessJob, undoPrinter } from '../interrupt.js';
import { EXIT, type ExitCode } from '../output.js';
import { progressPrinter } from './diskConvert.js';
import type { GuestCommandContext } from './guest.js';
import { type ImportFlags, requestFromFlags } from './import.js';
import type { CommandKit } from './kit.js';

export async function importOvaCommand(ctx: GuestCommandContext, file: string, flags: ImportFlags): Promise<ExitCode> {
  const out = ctx.output;
  const path = resolve(file);
  const facts = await inspectOva(ctx.host, path);
  const req = requestFromFlags(facts.guest, { ...flags, convert: flags.convert ?? 'qcow2' });
  const prepared = await prepareOvaImport(ctx.host, path, req, undefined, facts);
  const { check, plan } = prepared;
  const name = importName(facts, req);
  if (!plan) throw check.refusals[0] ?? new UserError('The import was refused.', 'Check the export.');
  const ignored = facts.guest.ignored;
  if (flags.dryRun) {
    const domain = buildImportDomain(prepared.facts, req);
    const warnings = [...check.warnings, ...domain.warnings];
    if (out.json) out.out(JSON.stringify({ ok: true, dryRun: true, name, warnings, ignored, steps: describePlan(plan), xml: domain.xml, plan }, null, 2));
    else out.out([...warnings.map((w) => `warning: ${w}`), ...ignored.map((l) => `ignored: ${l}`), ...describePlan(plan), '', domain.xml].join('\n'));
    return EXIT.ok;
  }
  for (const w of check.warnings) out.err(`warning: ${w}`);
  const write = (t: string) => process.stderr.write(t);
  return headlessJob(async (job) => {
    const r = await runOvaImport(ctx.host, prepared, {
      signal: job.signal,
      onEvent: out.json ? undoPrinter(write) : progressPrinter(write, { tty: Boolean(process.stderr.isTTY), columns: process.stderr.columns, total: plan.steps.length }),
    });
    if (!out.json && process.stderr.isTTY) write('\n');
    if (job.undoneBySignal(r.state)) throw job.cancelled('The import');
    if (r.state !== 'done') throw importFailure(r);
    if (out.json) out.out(JSON.stringify({ ok: true, name, started: req.start, images: plan.targets.images, journal: r.journal.path }, null, 2));
    else out.out(`${path} → guest ${name}${req.start ? ' (started)' : ''}; disks: ${plan.targets.images.join(', ')}.`);
    return EXIT.ok;
  });
}

export function registerImportOvaCommand(group: Command, kit: CommandKit): void {
  group
    .command('ova')
    .description('import a VMware OVA or OVF export: manifest checked first, disks converted, same MACs and disk slots')
    .argument('<file>', 'the .ova, or the .ovf of a directory export')
    .option('--convert <format>', 'qcow2 or raw (an export\'s streamOptimized vmdk cannot be run as it is)', 'qcow2')
    .option('--dest <dir>', 'directory for the new images (default: beside the .ova)')
    .option('--bridge <nic=bridge>', 'put a NIC on a host bridge, e.g. ethernet0=br0 (repeatable)', kit.collect)
    .option('--network <nic=network>', 'put a NIC on a libvirt network, e.g. 1=default (repeatable)', kit.collect)
    .option('--bus <bus>', 'keep (the exported controllers: safe first boot of Windows), virtio, sata or ide', 'keep')
    .option('--name <name>', 'guest name (default: the VM name in the descriptor)')
    .option('--start', 'start the guest after defining it')
    .option('-n, --dry-run', 'print what was read, the plan and the domain XML; change nothing')
    .addHelpText(
      'after',
      kit.examples([
        'virtdeck import ova /srv/exports/web01.ova --dry-run',
        'virtdeck import ova /srv/exports/web01.ova --dest /var/lib/libvirt/images --bridge ethernet0=br0 --start',
        'virtdeck import ova /srv/exports/web01/web01.ovf --convert raw',
      ]),
    )
    .action((file: string, opts: ImportFlags) => kit.run((ctx) => importOvaCommand(ctx, file, opts))());
}
