/**
 * `virtdeck p2v`: the P2V wizard's headless twin. One of --from-device, --from-ssh, --from-file;
 * the guest is prefilled from the source (an SSH source reports memory, CPUs and NIC MACs). Same
 * plan (printed by --dry-run), runner and journal; progress on stderr.
 */
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { stateDir } from '../../config/paths.js';
import { planRoute } from '../../host/planRoute.js';
import { type P2vInput, prepareP2v, runP2v } from '../../jobs/p2v.js';
import { type P2vSource, p2vGuestLine, parseMemoryMiB, parseNetwork, parseSshSource, QUIET_EXPLANATION, sourceLabel } from '../../model/p2vPlan.js';
import { describePlan } from '../../model/plan.js';
import { formatBytes } from '../../model/units.js';
import { UserError } from '../../model/userError.js';
import { headlessJob, undoPrinter } from '../interrupt.js';
import { EXIT, type ExitCode, streamWriter } from '../output.js';
import { progressPrinter } from './diskConvert.js';
import type { GuestCommandContext } from './guest.js';
import type { CommandKit } from './kit.js';

export interface P2vFlags {
  fromDevice?: string;
  fromSsh?: string;
  fromFile?: string;
  name: string;
  dest: string;
  format?: string;
  mac?: string[];
  memory?: string;
  vcpus?: string;
  bus?: string;
  network?: string;
  sshPort?: string;
  identity?: string;
  sshOption?: string[];
  verifyRemote?: boolean;
  dryRun?: boolean;
}

export function p2vInput(flags: P2vFlags): P2vInput {
  const sources = [flags.fromDevice, flags.fromSsh, flags.fromFile].filter((s) => s !== undefined);
  if (sources.length !== 1) throw new UserError('Give exactly one source.', 'Use --from-device DEV, --from-ssh root@HOST[:DEV] or --from-file RAW.');
  const source: P2vSource = flags.fromSsh
    ? parseSshSource(flags.fromSsh, { ...flags, identity: flags.identity ? resolve(flags.identity) : undefined })
    : flags.fromDevice
      ? { kind: 'device', path: resolve(flags.fromDevice) }
      : { kind: 'file', path: resolve(flags.fromFile as string) };
  if (flags.format && !['qcow2', 'raw'].includes(flags.format)) throw new UserError(`"${flags.format}" is not an output format for P2V.`, 'Use qcow2 or raw.');
  if (flags.bus && !['ide', 'sata'].includes(flags.bus)) throw new UserError(`"${flags.bus}" is not a first-boot bus.`, 'Use ide (Windows XP/2003, anything) or sata (Vista and later, Linux); switch to virtio once drivers are in.');
  // Number('two') is NaN, and "NaN is not a vCPU count" names nothing the admin typed.
  if (flags.vcpus !== undefined && !/^\s*\d+\s*$/.test(flags.vcpus)) throw new UserError(`"${flags.vcpus}" is not a vCPU count.`, 'Give a whole number from 1 to 64, for example --vcpus 2.');
  const vcpus = flags.vcpus === undefined ? undefined : Number(flags.vcpus);
  return {
    source,
    name: flags.name,
    destDir: resolve(flags.dest),
    format: flags.format as P2vInput['format'],
    macs: flags.mac,
    memoryMiB: parseMemoryMiB(flags.memory),
    vcpus,
    bus: flags.bus as P2vInput['bus'],
    network: parseNetwork(flags.network),
    verifyRemote: flags.verifyRemote,
  };
}

export async function p2vCommand(ctx: GuestCommandContext, flags: P2vFlags, io: { tty?: boolean; columns?: number } = {}): Promise<ExitCode> {
  const out = ctx.output;
  const prepared = await prepareP2v(ctx.host, p2vInput(flags));
  const { request: req, source: src } = prepared;
  const refusal = prepared.refusals[0];
  if (refusal || !prepared.plan) throw refusal ?? new UserError('Nothing to do.', 'Check the options.');
  const plan = prepared.plan;
  const summary = [
    `source   ${sourceLabel(req.source)}: ${formatBytes(src.sizeBytes)}${src.model ? ` (${src.model})` : ''}, ${src.partitionTable ?? 'no'} partition table`,
    ...src.partitions.map((p) => `         ${p.name.padEnd(10)} ${formatBytes(p.sizeBytes).padStart(9)}  ${p.fstype ?? p.type ?? ''}${p.mountpoint ? `  mounted on ${p.mountpoint}` : ''}`),
    `guest    ${p2vGuestLine(req)}`,
  ];
  if (flags.dryRun) {
    if (out.json) out.out(JSON.stringify({ ok: true, dryRun: true, request: req, source: src, warnings: prepared.warnings, steps: describePlan(plan, planRoute(ctx.host)), plan }, null, 2));
    else out.out([...summary, ...prepared.warnings.map((w) => `warning: ${w}`), ...describePlan(plan, planRoute(ctx.host))].join('\n'));
    return EXIT.ok;
  }
  if (!out.json) out.err(summary.join('\n'));
  for (const w of prepared.warnings) out.err(`warning: ${w}`);
  if (src.mounted.length > 0) for (const l of QUIET_EXPLANATION) out.err(`         ${l}`);
  const tty = io.tty ?? Boolean(process.stderr.isTTY);
  const write = streamWriter(process.stderr);
  return headlessJob(async (job) => {
    const r = await runP2v(ctx.host, plan, {
      stateDir: stateDir(),
      signal: job.signal,
      onEvent: out.json ? undoPrinter(write) : progressPrinter(write, { tty, columns: io.columns ?? process.stderr.columns, total: plan.steps.length }),
    });
    if (!out.json && tty) write('\n');
    if (job.undoneBySignal(r.state)) throw job.cancelled('The P2V');
    if (r.state !== 'done') {
      if (r.error) throw r.error;
      throw new UserError(`The P2V was ${r.state}; what it had done was undone.`, `The journal ${r.journal.path} has the details.`);
    }
    const image = plan.targets.images[0];
    if (out.json) out.out(JSON.stringify({ ok: true, guest: req.name, image, macs: req.macs, bus: req.bus, journal: r.journal.path }, null, 2));
    else out.out(`${sourceLabel(req.source)} → ${image}: copied and verified; guest ${req.name} defined (${req.bus}, MAC ${req.macs.join(', ')}).`);
    return EXIT.ok;
  });
}

export function registerP2vCommands(program: Command, kit: CommandKit): void {
  program
    .command('p2v')
    .description('turn a physical disk (local device, remote machine over SSH, or a raw dump) into an image and a guest')
    .option('--from-device <dev>', 'a disk or LVM volume attached to this host, e.g. /dev/sdb')
    .option('--from-ssh <root@host[:dev]>', 'a remote machine booted from a live system; its disk (default /dev/sda) is streamed read-only over ssh')
    .option('--from-file <raw>', 'a raw dump of a disk (dd image)')
    .requiredOption('--name <name>', 'the new guest')
    .requiredOption('--dest <dir>', 'directory for the image (NAME.qcow2 or NAME.raw)')
    .option('--format <fmt>', 'qcow2 (default) or raw; both written sparse')
    .option('--mac <mac>', 'a NIC with this MAC (repeat for more; default: the source NICs\' MACs over ssh)', kit.collect)
    .option('--memory <size>', 'memory: MiB, or with a unit (2G); default: the source\'s')
    .option('--vcpus <n>', "vCPUs (default: the source's)")
    .option('--bus <bus>', 'first-boot disk bus: ide (default) or sata')
    .option('--network <net>', 'user (default), bridge:NAME or network:NAME')
    .option('--ssh-port <port>', 'ssh port of the source')
    .option('--identity <file>', 'ssh private key for the source')
    .option('--ssh-option <opt>', 'extra ssh -o option (repeatable)', kit.collect)
    .option('--no-verify-remote', 'skip sha256sum of the device on the source (a second full read there)')
    .option('-n, --dry-run', 'print what was found and the plan; change nothing')
    .addHelpText(
      'after',
      `\nThe source should be quiet: boot it from a live system so nothing writes to the disk while it is copied;\na running system gives a crash-inconsistent image.${kit.examples([
        'virtdeck p2v --from-ssh root@oldsrv --name oldsrv --dest /var/lib/libvirt/images --dry-run',
        'virtdeck p2v --from-ssh root@10.0.0.5:/dev/sdb --name files --dest /srv/vm --bus sata --network bridge:br0',
        'virtdeck p2v --from-device /dev/sdc --name desk --dest /srv/vm --mac 00:1a:2b:3c:4d:5e',
        'virtdeck p2v --from-file /dumps/server.img --name server --dest /srv/vm --format raw',
      ])}`,
    )
    .action((opts: P2vFlags) => kit.run((ctx) => p2vCommand(ctx, opts))());
}
