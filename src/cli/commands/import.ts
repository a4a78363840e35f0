/**
 * `virtdeck import vmx FILE`: the VMware import wizard's headless twin. Same facts, refusals,
 * plan (printed by --dry-run) and runner; progress of conversions goes to stderr.
 */
import { resolve } from 'node:path';
import type { Command } from 'commander';
import type { HostContext } from '../../host/hostContext.js';
import { planRoute } from '../../host/planRoute.js';
import { importFailure, inspectImport, type PreparedImport, prepareImport, type RunImportOptions, runImport } from '../../jobs/importVmware.js';
import type { RunResult } from '../../jobs/runner.js';
import { FIXUP_CHOICES, type FixupChoice } from '../../model/importFixup.js';
import { buildImportDomain, CONVERT_CHOICES, type ImportConvert, type ImportRequest, importFixup, importName } from '../../model/importVmwarePlan.js';
import { describePlan } from '../../model/plan.js';
import { UserError } from '../../model/userError.js';
import type { VmxGuest } from '../../model/vmx.js';
import { BUS_CHOICES, type BusChoice, type NicMapping } from '../../model/vmxToDomain.js';
import { headlessJob, undoPrinter } from '../interrupt.js';
import { EXIT, type ExitCode, streamWriter } from '../output.js';
import { progressPrinter } from './diskConvert.js';
import type { GuestCommandContext } from './guest.js';
import { registerImportEsxiCommand } from './importEsxi.js';
import { registerImportOvaCommand } from './importOva.js';
import type { CommandKit } from './kit.js';

export interface ImportFlags {
  convert?: string;
  dest?: string;
  bridge?: string[];
  network?: string[];
  bus?: string;
  name?: string;
  start?: boolean;
  dryRun?: boolean;
  fixup?: string;
  virtioWin?: string;
}

/** "ethernet1=br0" or "1=br0" → [1, "br0"]. */
function parseNicAssignment(text: string, flag: string): [number, string] {
  const m = /^(?:ethernet)?(\d+)=(.+)$/i.exec(text.trim());
  if (!m) throw new UserError(`--${flag} ${text} is not NIC=NAME.`, `Write it as ethernet0=br0 (or 0=br0), once per network card.`);
  return [Number(m[1]), m[2] as string];
}

/** Per NIC of the guest: the bridge or network asked for, else user-mode networking. */
export function nicMappingsFromFlags(guest: VmxGuest, flags: Pick<ImportFlags, 'bridge' | 'network'>): NicMapping[] {
  const asked = new Map<number, NicMapping>();
  const put = (text: string, kind: 'bridge' | 'network') => {
    const [index, source] = parseNicAssignment(text, kind);
    if (!guest.nics.some((n) => n.index === index)) {
      throw new UserError(`The .vmx has no ethernet${index}.`, `It has ${guest.nics.map((n) => `ethernet${n.index}`).join(', ') || 'no network cards'}.`);
    }
    if (asked.has(index)) throw new UserError(`ethernet${index} is mapped twice.`, 'Give each network card one --bridge or --network.');
    asked.set(index, { kind, source });
  };
  for (const b of flags.bridge ?? []) put(b, 'bridge');
  for (const n of flags.network ?? []) put(n, 'network');
  return guest.nics.map((n) => asked.get(n.index) ?? { kind: 'user' });
}

export function requestFromFlags(guest: VmxGuest, flags: ImportFlags): ImportRequest {
  const convert = (flags.convert ?? 'none') as ImportConvert;
  if (!CONVERT_CHOICES.includes(convert)) throw new UserError(`--convert ${flags.convert} is not a choice.`, `Use one of ${CONVERT_CHOICES.join(', ')}.`);
  const bus = (flags.bus ?? 'keep') as BusChoice;
  if (!BUS_CHOICES.includes(bus)) throw new UserError(`--bus ${flags.bus} is not a choice.`, `Use one of ${BUS_CHOICES.join(', ')}.`);
  const fixup = (flags.fixup ?? 'none') as FixupChoice;
  if (!FIXUP_CHOICES.includes(fixup)) throw new UserError(`--fixup ${flags.fixup} is not a choice.`, `Use one of ${FIXUP_CHOICES.join(', ')}.`);
  if (flags.virtioWin !== undefined && fixup === 'none') throw new UserError('--virtio-win only goes with a fix-up.', 'Add --fixup auto (or v2v, mergeide), or leave --virtio-win out.');
  if (flags.dest && convert === 'none') throw new UserError('--dest only goes with --convert qcow2 or raw.', 'Without conversion the guest uses the vmdk files where they are.');
  return {
    convert,
    bus,
    destDir: flags.dest ? resolve(flags.dest) : undefined,
    nics: nicMappingsFromFlags(guest, flags),
    name: flags.name,
    start: Boolean(flags.start),
    fixup,
    ...(flags.virtioWin !== undefined ? { virtioWin: resolve(flags.virtioWin) } : {}),
  };
}

export async function importVmxCommand(ctx: GuestCommandContext, file: string, flags: ImportFlags): Promise<ExitCode> {
  const vmxPath = resolve(file);
  const facts = await inspectImport(ctx.host, vmxPath);
  const req = requestFromFlags(facts.guest, flags);
  const prepared = await prepareImport(ctx.host, vmxPath, req, undefined, facts);
  return runPreparedImport(ctx, vmxPath, prepared, Boolean(flags.dryRun), runImport, 'Check the .vmx.');
}

/**
 * What `import vmx` and `import ova` share once the import is prepared: the dry run (plan, domain
 * XML, warnings), or the journaled run with progress, Ctrl-C undo and the one-line result.
 */
export async function runPreparedImport(
  ctx: GuestCommandContext,
  source: string,
  prepared: PreparedImport,
  dryRun: boolean,
  run: (host: HostContext, prepared: PreparedImport, opts: RunImportOptions) => Promise<RunResult>,
  refusedFix: string,
  /** What the source adds in front of a dry run: lines for people, fields for --json (an ESXi copy's files and space). */
  preface?: { lines: string[]; json: Record<string, unknown> },
): Promise<ExitCode> {
  const out = ctx.output;
  const { check, plan, facts, request: req } = prepared;
  const name = importName(facts, req);
  const ignored = facts.guest.ignored;
  if (!plan) throw check.refusals[0] ?? new UserError('The import was refused.', refusedFix);
  const { engine, why } = importFixup(facts, req);
  const fixup = { engine, why };
  if (dryRun) {
    const domain = buildImportDomain(facts, req);
    const warnings = [...check.warnings, ...domain.warnings];
    const steps = describePlan(plan, planRoute(ctx.host));
    if (out.json) out.out(JSON.stringify({ ok: true, dryRun: true, name, fixup, warnings, ignored, ...preface?.json, steps, xml: domain.xml, plan }, null, 2));
    else out.out([...(preface?.lines ?? []), `fix-up: ${engine}: ${why}`, ...warnings.map((w) => `warning: ${w}`), ...ignored.map((l) => `ignored: ${l}`), ...steps, '', domain.xml].join('\n'));
    return EXIT.ok;
  }
  for (const w of check.warnings) out.err(`warning: ${w}`);
  if (req.fixup && req.fixup !== 'none') out.err(`fix-up: ${engine}: ${why}`);
  const write = streamWriter(process.stderr);
  return headlessJob(async (job) => {
    const r = await run(ctx.host, prepared, {
      signal: job.signal,
      onEvent: out.json ? undoPrinter(write) : progressPrinter(write, { tty: Boolean(process.stderr.isTTY), columns: process.stderr.columns, total: plan.steps.length }),
    });
    if (!out.json && process.stderr.isTTY) write('\n');
    if (job.undoneBySignal(r.state)) throw job.cancelled('The import');
    if (r.state !== 'done') throw importFailure(r);
    if (out.json) out.out(JSON.stringify({ ok: true, name, started: req.start, fixup, images: plan.targets.images, journal: r.journal.path }, null, 2));
    else out.out(`${source} → guest ${name}${req.start ? ' (started)' : ''}; disks: ${plan.targets.images.join(', ')}.`);
    return EXIT.ok;
  });
}

export const FIXUP_HELP =
  'after the copy: auto (virt-v2v-in-place for Linux, and for Windows with --virtio-win; MergeIDE for Windows XP/2003 without), v2v, mergeide or none';
export const VIRTIO_WIN_HELP = 'the virtio-win ISO whose drivers a Windows fix-up installs';

export function registerImportCommands(program: Command, kit: CommandKit): void {
  const group = program.commands.find((c) => c.name() === 'import') ?? program.command('import').description('bring guests from other hypervisors');
  group
    .command('vmx')
    .description('import a VMware VM from its .vmx: same MACs, UUID and disk slots; vmdk used as is or converted')
    .argument('<file>', 'the .vmx file')
    .option('--convert <format>', 'none (run the vmdk files as they are), qcow2 or raw', 'none')
    .option('--dest <dir>', 'with --convert: directory for the new images (default: beside the .vmx)')
    .option('--bridge <nic=bridge>', 'put a NIC on a host bridge, e.g. ethernet0=br0 (repeatable)', kit.collect)
    .option('--network <nic=network>', 'put a NIC on a libvirt network, e.g. 1=default (repeatable)', kit.collect)
    .option('--bus <bus>', 'keep (the .vmx controllers: safe first boot of Windows), virtio, sata or ide', 'keep')
    .option('--name <name>', 'guest name (default: displayName)')
    .option('--fixup <how>', FIXUP_HELP, 'none')
    .option('--virtio-win <iso>', VIRTIO_WIN_HELP)
    .option('--start', 'start the guest after defining it')
    .option('-n, --dry-run', 'print what was read, the plan and the domain XML; change nothing')
    .addHelpText(
      'after',
      kit.examples([
        'virtdeck import vmx /srv/vmware/w2k3/w2k3.vmx --dry-run',
        'virtdeck import vmx /srv/vmware/w2k3/w2k3.vmx --bridge ethernet0=br0 --start',
        'virtdeck import vmx /srv/vmware/web/web.vmx --convert qcow2 --dest /var/lib/libvirt/images --fixup auto',
      ]),
    )
    .action((file: string, opts: ImportFlags) => kit.run((ctx) => importVmxCommand(ctx, file, opts))());
  registerImportOvaCommand(group, kit);
  registerImportEsxiCommand(group, kit);
}
