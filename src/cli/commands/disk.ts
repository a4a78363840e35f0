/**
 * `virtdeck disk …`: the headless twin of the Disks pane. The `disk` group is shared: convert and
 * expand register their subcommands on the same Command through diskCommand(program).
 */
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { loadConfig } from '../../config/config.js';
import { planRoute } from '../../host/planRoute.js';
import {
  ATTACH_BUSES,
  CREATE_FORMATS,
  checkDelete,
  createImage,
  deleteImage,
  guestFacts,
  PREALLOCATIONS,
  planAttach,
  planCreate,
  planDelete,
  planDetach,
  type RunDiskOptions,
  refuseExisting,
  runDiskPlan,
  validateCreate,
} from '../../jobs/diskActions.js';
import { DiskInventory, defaultCacheFile, defaultWrittenDirsFile } from '../../jobs/diskInventory.js';
import { type DiskRow, detailLines, shortenPath, usedByText } from '../../model/diskInventory.js';
import { isActive } from '../../model/guest.js';
import { describePlan, type Plan } from '../../model/plan.js';
import { formatBytes } from '../../model/units.js';
import { UserError } from '../../model/userError.js';
import { headlessJob, undoneOnSignal } from '../interrupt.js';
import { asciiOnly, EXIT, type ExitCode, fitCell } from '../output.js';
import type { GuestCommandContext } from './guest.js';
import type { CommandKit } from './kit.js';

export type DiskCommandContext = GuestCommandContext;

/** The `disk` command group, created once and shared by every module that adds disk subcommands. */
export function diskCommand(program: Command): Command {
  const existing = program.commands.find((c) => c.name() === 'disk');
  if (existing) return existing;
  return program.command('disk').description('list, check, create, attach, detach, delete, convert and grow disk images without the console');
}

export function inventoryFor(ctx: DiskCommandContext): DiskInventory {
  return new DiskInventory(ctx.host, { imageDirs: loadConfig().imageDirs, cacheFile: defaultCacheFile(), writtenDirsFile: defaultWrittenDirsFile() });
}

/** PATH 36 · FORMAT 6 · VIRTUAL 7 · ALLOC 7 · USED BY 16 · ! 1, with 5 gaps = 78 columns. */
const WIDTHS = { path: 36, format: 6, virtual: 7, alloc: 7, used: 16 };

export function formatDiskTable(rows: DiskRow[], ascii = false): string {
  if (rows.length === 0) return 'No disk images found (guests, storage pools and the configured image directories were searched).\n';
  const ell = ascii ? '~' : '…';
  const line = (cells: string[], warn: string) =>
    [
      cells[0]?.padEnd(WIDTHS.path),
      fitCell(cells[1] ?? '', WIDTHS.format, ascii),
      (cells[2] ?? '').padStart(WIDTHS.virtual),
      (cells[3] ?? '').padStart(WIDTHS.alloc),
      fitCell(cells[4] ?? '', WIDTHS.used, ascii),
      warn,
    ]
      .join(' ')
      .trimEnd();
  const out = [line(['PATH', 'FORMAT', 'VIRTUAL', 'ALLOC', 'USED BY'], '')];
  for (const r of rows) {
    out.push(
      line(
        [shortenPath(r.path, WIDTHS.path, ell), r.format ?? '?', r.virtualSize !== null ? formatBytes(r.virtualSize) : '-', r.allocated !== null ? formatBytes(r.allocated) : '-', usedByText(r) || (r.orphan ? 'orphan' : '-')],
        r.warnings.length ? '!' : '',
      ),
    );
  }
  const warned = rows.filter((r) => r.warnings.length > 0).length;
  if (warned) out.push('', `! ${warned} image${warned === 1 ? ' has' : 's have'} warnings: virtdeck disk info PATH says what.`);
  return `${out.join('\n')}\n`;
}

function absolute(path: string): string {
  return resolve(path);
}

/**
 * The inventory row of one path, which must exist; paths outside the image directories work too.
 * The file passes the untrusted-image gate first: a directory, a FIFO, /dev/zero, or an image naming
 * a file outside its directory or a network address is refused (exit 2) before qemu-img opens it.
 */
async function rowFor(inv: DiskInventory, path: string, opts: { gate: boolean } = { gate: true }): Promise<DiskRow> {
  const abs = absolute(path);
  // Deleting a hostile image is exactly what the admin may want: delete opens nothing.
  if (opts.gate) await inv.gate(abs);
  const snap = await inv.refresh(undefined, [abs]);
  const row = snap.rows.find((r) => r.path === abs);
  if (!row?.file) throw new UserError(`${abs} does not exist.`, 'Check the path (virtdeck disk list shows the images virtdeck knows).');
  return row;
}

function printPlan(ctx: DiskCommandContext, plan: Plan, dryRun: boolean, done: string): void {
  if (ctx.output.json) ctx.output.out(JSON.stringify({ ok: true, dryRun, plan: { title: plan.title, steps: describePlan(plan, planRoute(ctx.host)) } }, null, 2));
  else if (dryRun) ctx.output.out([`${plan.title} (dry run: nothing changes):`, ...describePlan(plan, planRoute(ctx.host)).map((l) => `  ${l}`)].join('\n'));
  else ctx.output.out(done);
}

export async function listDisksCommand(ctx: DiskCommandContext): Promise<ExitCode> {
  const { rows } = await inventoryFor(ctx).refresh();
  if (ctx.output.json) ctx.output.out(JSON.stringify({ ok: true, images: rows }, null, 2));
  else ctx.output.out(formatDiskTable(rows, asciiOnly()));
  return EXIT.ok;
}

export async function infoDiskCommand(ctx: DiskCommandContext, path: string): Promise<ExitCode> {
  const row = await rowFor(inventoryFor(ctx), path);
  if (ctx.output.json) {
    ctx.output.out(JSON.stringify({ ok: true, image: row }, null, 2));
    return EXIT.ok;
  }
  const lines = detailLines(row);
  if (row.warnings.length) lines.push('', 'Warnings:', ...row.warnings.map((w) => `  ! ${w}`));
  ctx.output.out(lines.join('\n'));
  return EXIT.ok;
}

export async function checkDiskCommand(ctx: DiskCommandContext, path: string): Promise<ExitCode> {
  const inv = inventoryFor(ctx);
  const row = await rowFor(inv, path);
  const inUse = row.usedBy.some((u) => u.running);
  const c = await inv.check(row.path, { forceShare: inUse });
  if (ctx.output.json) {
    ctx.output.out(JSON.stringify({ ok: c.ok, path: row.path, forceShare: inUse, check: c }, null, 2));
  } else {
    const verdict = !c.supported
      ? `${row.path}: ${row.format ?? 'this'} images have no metadata qemu-img can check; nothing to report.`
      : c.ok
        ? `${row.path}: no errors found.`
        : `${row.path}: ${c.corruptions} corruption(s), ${c.leaks} leaked cluster(s), ${c.checkErrors} check error(s).`;
    const said = c.ok ? [] : c.message.split('\n').filter(Boolean);
    const shown = said.length > 5 ? [...said.slice(0, 5), `… and ${said.length - 5} more lines (qemu-img check ${row.path})`] : said;
    ctx.output.out([verdict, ...(inUse ? ['(checked read-only: a running guest uses it, so the result may show writes in flight)'] : []), ...shown].join('\n'));
  }
  return c.ok ? EXIT.ok : EXIT.failed;
}

export interface CreateFlags {
  format?: string;
  size?: string;
  preallocation?: string;
  dryRun?: boolean;
}

export async function createDiskCommand(ctx: DiskCommandContext, path: string, flags: CreateFlags, run: RunDiskOptions = {}): Promise<ExitCode> {
  if (!flags.format) throw new UserError('The format is missing.', `Add --format with one of ${CREATE_FORMATS.join(', ')}.`);
  if (!flags.size) throw new UserError('The size is missing.', 'Add --size, e.g. --size 20G.');
  const req = { path: absolute(path), format: flags.format, size: flags.size, preallocation: flags.preallocation };
  const spec = validateCreate(req);
  await refuseExisting(ctx.host, spec.files);
  if (flags.dryRun) {
    printPlan(ctx, planCreate(spec), true, '');
    return EXIT.ok;
  }
  await createImage(ctx.host, req, run);
  printPlan(ctx, planCreate(spec), false, `Created ${spec.files.join(' and ')} (${spec.format}, ${formatBytes(spec.sizeBytes)}).`);
  return EXIT.ok;
}

export interface AttachFlags {
  bus?: string;
  target?: string;
  dryRun?: boolean;
}

export async function attachDiskCommand(ctx: DiskCommandContext, guest: string, path: string, flags: AttachFlags, run: RunDiskOptions = {}): Promise<ExitCode> {
  const inv = inventoryFor(ctx);
  const row = await rowFor(inv, path);
  const { row: g, inactiveXml } = await guestFacts(ctx.host, guest);
  const others = row.usedBy.filter((u) => u.device !== 'cdrom' && !/\.iso$/i.test(row.path));
  if (others.length > 0) {
    throw new UserError(
      `${row.path} is already used by ${others.map((u) => `${u.guest} (${u.target})`).join(', ')}; two guests writing one image corrupt it.`,
      'Detach it there first, or give this guest its own copy.',
    );
  }
  if (!row.format || row.facts?.error) throw new UserError(`qemu-img cannot read ${row.path}, so its format is unknown.`, 'Check the file with virtdeck disk info; only attach images qemu-img can open.');
  const iso = /\.iso$/i.test(row.path);
  const bus = flags.bus ?? (iso ? (/machine=['"][^'"]*q35/.test(inactiveXml) ? 'sata' : 'ide') : 'virtio');
  const plan = planAttach(ctx.host, { guest, path: row.path, format: row.format, bus, target: flags.target }, { inactiveXml, running: isActive(g.state) });
  if (!flags.dryRun) await runDiskPlan(ctx.host, plan, run);
  printPlan(ctx, plan, Boolean(flags.dryRun), `${plan.title}: done.`);
  return EXIT.ok;
}

export async function detachDiskCommand(ctx: DiskCommandContext, guest: string, target: string, flags: { dryRun?: boolean }, run: RunDiskOptions = {}): Promise<ExitCode> {
  const { row, inactiveXml } = await guestFacts(ctx.host, guest);
  const plan = planDetach(ctx.host, guest, target, { guest: row, inactiveXml });
  if (!flags.dryRun) await runDiskPlan(ctx.host, plan, run);
  printPlan(ctx, plan, Boolean(flags.dryRun), `${plan.title}: done; the image file is kept.`);
  return EXIT.ok;
}

export async function deleteDiskCommand(ctx: DiskCommandContext, path: string, flags: { yes?: boolean; dryRun?: boolean }, run: RunDiskOptions = {}): Promise<ExitCode> {
  const row = await rowFor(inventoryFor(ctx), path, { gate: false });
  const files = await checkDelete(ctx.host, row);
  const plan = planDelete(ctx.host, row, files);
  if (flags.dryRun) {
    printPlan(ctx, plan, true, '');
    return EXIT.ok;
  }
  if (!flags.yes) {
    throw new UserError(`This would delete ${files.join(' and ')} for good.`, `Add --yes to confirm: virtdeck disk delete ${row.path} --yes.`);
  }
  await deleteImage(ctx.host, row, { ...run, confirmed: files });
  printPlan(ctx, plan, false, `Deleted ${files.join(' and ')}.`);
  return EXIT.ok;
}

/** A disk plan (create, attach, detach, delete) under Ctrl-C: see cli/interrupt.ts. */
function diskJob(kit: CommandKit, what: string, body: (ctx: DiskCommandContext, run: RunDiskOptions) => Promise<ExitCode>): Promise<void> {
  return headlessJob((job) => kit.run((ctx) => undoneOnSignal(job, what, ctx.output.err, (onEvent) => body(ctx, { signal: job.signal, onEvent })))());
}

export function registerDiskCommands(program: Command, kit: CommandKit): void {
  const disk = diskCommand(program);
  disk.addHelpText('after', kit.examples(['virtdeck disk list', 'virtdeck disk info /var/lib/libvirt/images/web.qcow2', 'virtdeck disk check web.qcow2']));

  disk
    .command('list')
    .description('every image the host knows: guest disks, pool volumes and files in the image directories')
    .addHelpText('after', kit.examples(['virtdeck disk list', "virtdeck disk list --json | jq -r '.images[] | select(.usedBy == []) | .path'"]))
    .action(kit.run((ctx) => listDisksCommand(ctx)));

  disk
    .command('info')
    .description('format (vmdk subformat, adapter, hardware version), sizes, chain, snapshots, users and warnings of one image')
    .argument('<path>', 'image file')
    .addHelpText('after', kit.examples(['virtdeck disk info /var/lib/libvirt/images/web.qcow2 --json']))
    .action((path: string) => kit.run((ctx) => infoDiskCommand(ctx, path))());

  disk
    .command('check')
    .description('qemu-img check (read-only, force-share when a running guest uses it); exit 1 when it finds errors or leaks')
    .argument('<path>', 'image file')
    .addHelpText('after', kit.examples(['virtdeck disk check /var/lib/libvirt/images/web.qcow2']))
    .action((path: string) => kit.run((ctx) => checkDiskCommand(ctx, path))());

  disk
    .command('create')
    .description('create an empty image; an existing file is never overwritten')
    .argument('<path>', 'new image file')
    .option('-f, --format <format>', `image format: ${CREATE_FORMATS.join(', ')}`)
    .option('-s, --size <size>', 'virtual size, e.g. 20G or 512M')
    .option('-p, --preallocation <mode>', `${PREALLOCATIONS.join(', ')} (vmdk: off = growable, full = monolithicFlat)`, 'off')
    .option('-n, --dry-run', 'print the command only')
    .addHelpText('after', kit.examples(['virtdeck disk create /var/lib/libvirt/images/data.qcow2 --format qcow2 --size 20G', 'virtdeck disk create /srv/vm/x.vmdk -f vmdk -s 8G --dry-run']))
    .action((path: string, o: CreateFlags) => diskJob(kit, `Creating ${path}`, (ctx, run) => createDiskCommand(ctx, path, o, run)));

  disk
    .command('attach')
    .description('attach an image to a guest (now too when it runs and the bus allows hotplug: virtio, scsi, usb)')
    .argument('<guest>', 'guest name')
    .argument('<path>', 'image file')
    .option('-b, --bus <bus>', `${ATTACH_BUSES.join(', ')} (default virtio; an ISO goes on ide or sata as a CD-ROM)`)
    .option('-t, --target <dev>', 'target name, e.g. vdb (default: the next free one)')
    .option('-n, --dry-run', 'print the command only')
    .addHelpText('after', kit.examples(['virtdeck disk attach web /var/lib/libvirt/images/data.qcow2', 'virtdeck disk attach web data.raw --bus scsi --target sdb']))
    .action((guest: string, path: string, o: AttachFlags) => diskJob(kit, `Attaching ${path} to ${guest}`, (ctx, run) => attachDiskCommand(ctx, guest, path, o, run)));

  disk
    .command('detach')
    .description("detach a disk from a guest by its target (vdb, sda…); the image file is kept")
    .argument('<guest>', 'guest name')
    .argument('<target>', 'target, e.g. vdb')
    .option('-n, --dry-run', 'print the command only')
    .addHelpText('after', kit.examples(['virtdeck disk detach web vdb']))
    .action((guest: string, target: string, o: { dryRun?: boolean }) => diskJob(kit, `Detaching ${target} from ${guest}`, (ctx, run) => detachDiskCommand(ctx, guest, target, o, run)));

  disk
    .command('delete')
    .description('delete an image file (and a flat vmdk\'s data file); refused while a guest uses it')
    .argument('<path>', 'image file')
    .option('--yes', 'confirm; without it the command only says what it would delete')
    .option('-n, --dry-run', 'print the command only')
    .addHelpText('after', kit.examples(['virtdeck disk delete /var/lib/libvirt/images/old.qcow2 --yes']))
    .action((path: string, o: { yes?: boolean; dryRun?: boolean }) => diskJob(kit, `Deleting ${path}`, (ctx, run) => deleteDiskCommand(ctx, path, o, run)));
}

