/**
 * `virtdeck import esxi root@HOST [--vm NAME]`: without --vm, the host's VMs with their power
 * state; with it, the same options, review (--dry-run, which also lists what would be copied and
 * the space it needs), journal and undo as `import vmx`. The disks are always converted (qcow2
 * unless --convert raw), into --dest (default /var/lib/libvirt/images).
 */
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { type EsxiTarget, inspectEsxi, listEsxi, openEsxiLink, prepareEsxiImport, runEsxiImport } from '../../jobs/importEsxi.js';
import { powerLabel } from '../../model/esxiListing.js';
import { ESXI_DEFAULT_DEST, type EsxiImportFacts, esxiCopySummary, esxiSpace } from '../../model/importEsxiPlan.js';
import { shownText } from '../../model/shown.js';
import { checkSshDestination } from '../../model/sshDestination.js';
import { UserError } from '../../model/userError.js';
import { EXIT, type ExitCode } from '../output.js';
import type { GuestCommandContext } from './guest.js';
import { type ImportFlags, requestFromFlags, runPreparedImport } from './import.js';
import type { CommandKit } from './kit.js';

export interface EsxiFlags extends ImportFlags {
  vm?: string;
  port?: string;
  identity?: string;
  sshOption?: string[];
  datastores?: string;
}

export function esxiTargetFromFlags(destination: string, flags: Pick<EsxiFlags, 'port' | 'identity' | 'sshOption' | 'datastores'>): EsxiTarget {
  checkSshDestination(destination, 'the ESXi host');
  const port = flags.port === undefined ? undefined : Number(flags.port);
  if (port !== undefined && !(Number.isInteger(port) && port > 0 && port < 65536)) throw new UserError(`--port ${flags.port} is not a port.`, 'Give a number from 1 to 65535.');
  for (const o of flags.sshOption ?? []) {
    if (!/^[A-Za-z][A-Za-z0-9]*=\S+$/.test(o)) throw new UserError(`--ssh-option ${o} is not an ssh option.`, 'Write Key=value, e.g. StrictHostKeyChecking=accept-new.');
  }
  return {
    destination,
    port,
    identityFile: flags.identity ? resolve(flags.identity) : undefined,
    sshOptions: (flags.sshOption ?? []).flatMap((o) => ['-o', o]),
    datastores: flags.datastores,
  };
}

export async function importEsxiCommand(ctx: GuestCommandContext, destination: string, flags: EsxiFlags): Promise<ExitCode> {
  const out = ctx.output;
  const target = esxiTargetFromFlags(destination, flags);
  if (!flags.vm) {
    const list = await listEsxi(target);
    const vms = list.vms.map((vm) => ({ name: vm.name, power: vm.power, powerFrom: vm.powerFrom, vmid: vm.vmid, datastore: vm.datastore, vmx: vm.vmx }));
    if (out.json) out.out(JSON.stringify({ ok: true, host: destination, vimCmd: list.vimCmd, vms }, null, 2));
    else if (vms.length === 0) out.out(`${destination} has no .vmx under ${list.root}.`);
    else {
      const w = Math.max(4, ...list.vms.map((v) => v.name.length));
      const lines = ['NAME'.padEnd(w), ...list.vms.map((v) => v.name.padEnd(w))].map((n, i) => (i === 0 ? `${n}  POWER          VMX` : `${n}  ${powerLabel(list.vms[i - 1] as (typeof list.vms)[number]).padEnd(13)}  ${(list.vms[i - 1] as (typeof list.vms)[number]).vmx}`));
      out.out(shownText([...lines, '', `Import one with: virtdeck import esxi ${destination} --vm NAME`].join('\n')));
    }
    return EXIT.ok;
  }
  // One login for the listing, the directory read and every stream; this host's facts are read while it logs in.
  const login = openEsxiLink(target);
  login.catch(() => undefined);
  try {
    const facts = await inspectEsxi(ctx.host, target, flags.vm, undefined, undefined, login);
    const master = await login;
    const req = requestFromFlags(facts.guest, { ...flags, convert: flags.convert ?? 'qcow2', dest: flags.dest ?? ESXI_DEFAULT_DEST });
    const prepared = await prepareEsxiImport(ctx.host, req, facts);
    const full = prepared.facts as EsxiImportFacts;
    const space = esxiSpace(full);
    const files = full.esxi.disks.flatMap((d) => d.extents.map((e) => ({ disk: d.key, file: `${full.esxi.dir}/${e.name}`, bytes: e.size })));
    const preface = { lines: esxiCopySummary(full, prepared.request), json: { copy: { host: destination, files, bytes: space.copied, neededBytes: space.needed, freeBytes: full.destFree ?? null } } };
    const run: typeof runEsxiImport = (host, p, o) => runEsxiImport(host, p, { ...o, master });
    return await runPreparedImport(ctx, `${destination}:${full.esxi.vm.vmx}`, prepared, Boolean(flags.dryRun), run, 'Check the VM on the ESXi host.', preface);
  } finally {
    await (await login.catch(() => null))?.close();
  }
}

export function registerImportEsxiCommand(group: Command, kit: CommandKit): void {
  group
    .command('esxi')
    .description('import a VM straight from an ESXi host over ssh: each disk read once, checked, converted; same MACs and disk slots')
    .argument('<destination>', 'root@HOST of the ESXi host')
    .option('--vm <name>', 'the VM: its name, directory or .vmx path (without it: list the VMs and their power state)')
    .option('--port <port>', 'ssh port of the host')
    .option('--identity <file>', 'ssh private key for the host')
    .option('--ssh-option <opt>', 'extra ssh -o option (repeatable)', kit.collect)
    .option('--datastores <dir>', 'where the datastores are mounted on the host', '/vmfs/volumes')
    .option('--convert <format>', 'qcow2 or raw', 'qcow2')
    .option('--dest <dir>', `directory for the new images (default: ${ESXI_DEFAULT_DEST})`)
    .option('--bridge <nic=bridge>', 'put a NIC on a host bridge, e.g. ethernet0=br0 (repeatable)', kit.collect)
    .option('--network <nic=network>', 'put a NIC on a libvirt network, e.g. 1=default (repeatable)', kit.collect)
    .option('--bus <bus>', 'keep (the .vmx controllers: safe first boot of Windows), virtio, sata or ide', 'keep')
    .option('--name <name>', 'guest name (default: displayName)')
    .option('--start', 'start the guest after defining it')
    .option('-n, --dry-run', 'print what would be copied, the space it needs, the plan and the domain XML; change nothing')
    .addHelpText(
      'after',
      kit.examples([
        'virtdeck import esxi root@esxi1',
        'virtdeck import esxi root@esxi1 --vm web01 --dry-run',
        'virtdeck import esxi root@esxi1 --vm web01 --identity ~/.ssh/esxi --bridge ethernet0=br0 --start',
      ]),
    )
    .action((destination: string, opts: EsxiFlags) => kit.run((ctx) => importEsxiCommand(ctx, destination, opts))());
}
