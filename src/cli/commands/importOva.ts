/**
 * `virtdeck import ova FILE.ova|FILE.ovf`: the same options, review (--dry-run), journal and undo
 * as `import vmx`; the disks are always converted (qcow2 unless --convert raw).
 */
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { inspectOva, prepareOvaImport, runOvaImport } from '../../jobs/importOva.js';
import type { ExitCode } from '../output.js';
import type { GuestCommandContext } from './guest.js';
import { FIXUP_HELP, type ImportFlags, requestFromFlags, runPreparedImport, VIRTIO_WIN_HELP } from './import.js';
import type { CommandKit } from './kit.js';

export async function importOvaCommand(ctx: GuestCommandContext, file: string, flags: ImportFlags): Promise<ExitCode> {
  const path = resolve(file);
  const facts = await inspectOva(ctx.host, path);
  const req = requestFromFlags(facts.guest, { ...flags, convert: flags.convert ?? 'qcow2' });
  const prepared = await prepareOvaImport(ctx.host, path, req, undefined, facts);
  return runPreparedImport(ctx, path, prepared, Boolean(flags.dryRun), runOvaImport, 'Check the export.');
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
    .option('--fixup <how>', FIXUP_HELP, 'none')
    .option('--virtio-win <iso>', VIRTIO_WIN_HELP)
    .option('--start', 'start the guest after defining it')
    .option('-n, --dry-run', 'print what was read, the plan and the domain XML; change nothing')
    .addHelpText(
      'after',
      kit.examples([
        'virtdeck import ova /srv/exports/web01.ova --dry-run',
        'virtdeck import ova /srv/exports/web01.ova --dest /var/lib/libvirt/images --bridge ethernet0=br0 --start',
        'virtdeck import ova /srv/exports/web01/web01.ovf --convert raw',
        'virtdeck import ova /srv/exports/win10.ova --fixup auto --virtio-win /srv/iso/virtio-win.iso',
      ]),
    )
    .action((file: string, opts: ImportFlags) => kit.run((ctx) => importOvaCommand(ctx, file, opts))());
}
