/**
 * Import of a VMware VM, the side-effect half: reads the .vmx and every vmdk descriptor of each
 * disk's snapshot chain through the host's sysExec (so a remote host works the same), looks for
 * VMware lock directories and names already taken, then runs the plan from
 * model/importVmwarePlan.ts with the shared runner (journaled; the convert steps use the convert
 * job's actions, so an interrupted import can be finished or rolled back like a conversion).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stateDir } from '../config/paths.js';
import { HostError } from '../host/errors.js';
import type { HostContext } from '../host/hostContext.js';
import { inspectUntrustedImage, notAnImageFile, readFileHead } from '../host/imageInspect.js';
import { detectAccel, domainTypeFor } from '../host/kvm.js';
import { existingPaths, type ImageInfo, infoArgv, parseInfo } from '../host/qemuImg.js';
import { listBridges, listGuests, listNetworks } from '../host/virsh.js';
import { readVmdkDescriptor } from '../host/vmdk.js';
import { isInside } from '../model/imageHeader.js';
import {
  checkImport,
  type ImportCheck,
  type ImportDiskFacts,
  type ImportFacts,
  type ImportRequest,
  importDestDir,
  planImport,
  plannedDestFiles,
} from '../model/importVmwarePlan.js';
import type { Plan } from '../model/plan.js';
import { shown } from '../model/shown.js';
import { UserError } from '../model/userError.js';
import { nextParent, resolveVmdkChain, unusedSnapshotFiles, type VmdkLookup } from '../model/vmdkChain.js';
import type { VmdkDescriptor } from '../model/vmdkDescriptor.js';
import { checkVmwareConfig, parseVmx, type VmxGuest } from '../model/vmx.js';
import { convertActions } from './convert.js';
import { importFixupActions, probeFixupTools, virtioWinRefusal } from './importFixup.js';
import { type Action, type RunnerEvent, type RunResult, runPlan } from './runner.js';
import { probeWritableDir } from './writableDir.js';

const MAX_VMX_BYTES = 1024 * 1024;

function dirOf(path: string): string {
  const slash = path.lastIndexOf('/');
  return slash <= 0 ? '/' : path.slice(0, slash);
}

/** Reads and parses the .vmx; relative file names are beside it (VMware's own rule). */
export async function readVmx(host: HostContext, vmxPath: string, signal?: AbortSignal): Promise<VmxGuest> {
  if (!vmxPath.startsWith('/')) throw new UserError(`"${vmxPath}" is not an absolute path.`, 'Give the full path of the .vmx file.');
  // head on a FIFO would wait forever, on /dev/zero read a megabyte of nothing.
  const kind = (await readFileHead(host.sysExec, vmxPath, 0, signal)).kind;
  if (kind !== 'regular' && kind !== 'missing') throw notAnImageFile(vmxPath, kind, { what: 'a VMware .vmx file' });
  const r = await host.sysExec.run(['head', '-c', String(MAX_VMX_BYTES), '--', vmxPath], { okExitCodes: [1], signal });
  if (r.exitCode !== 0) throw new UserError(`${vmxPath} cannot be read.`, 'Check the path and that virtdeck runs as a user who can read it.');
  // Before anything is made from it: an empty or foreign file must not become a guest.
  checkVmwareConfig(r.stdout, vmxPath);
  const dir = dirOf(vmxPath);
  return parseVmx(r.stdout, { source: vmxPath, resolveFile: (name) => (name.startsWith('/') ? name : `${dir}/${name}`) });
}

async function listDir(host: HostContext, dir: string, signal?: AbortSignal): Promise<string[]> {
  const r = await host.sysExec.run(['ls', '-1A', '--', dir], { okExitCodes: [1, 2], signal });
  return r.exitCode === 0 ? r.stdout.split('\n').filter(Boolean).map((f) => (dir === '/' ? `/${f}` : `${dir}/${f}`)) : [];
}

/** Follows each hard disk's parentFileNameHint chain, reading one descriptor per file. */
async function readChain(host: HostContext, active: string): Promise<Map<string, VmdkLookup>> {
  const found = new Map<string, VmdkLookup>();
  let path: string | null = active;
  while (path !== null && !found.has(path) && found.size < 64) {
    const [exists] = await existingPaths(host.sysExec, [path]);
    if (!exists) {
      found.set(path, 'missing');
      break;
    }
    // Before any parentFileNameHint is followed: the chain may name only files beside the disk
    // (a missing one is left to resolveVmdkChain, which says which file to copy).
    if (found.size === 0) await inspectUntrustedImage(host.sysExec, path, { allowMissing: true });
    let d: VmdkDescriptor;
    try {
      d = await readVmdkDescriptor(host.sysExec, path);
    } catch (e) {
      if (!(e instanceof UserError)) throw e;
      found.set(path, 'not-descriptor');
      break;
    }
    found.set(path, d);
    try {
      path = nextParent(path, d);
    } catch {
      break; // resolveVmdkChain reports it
    }
  }
  return found;
}

/**
 * The disk's size from qemu-img, after the untrusted-image gate: every extent and snapshot parent
 * the vmdk names must be a regular file in its own directory, and qemu-img opens it as vmdk, never probing.
 */
async function virtualSize(host: HostContext, path: string, signal?: AbortSignal): Promise<number> {
  await inspectUntrustedImage(host.sysExec, path, { expectFormat: 'vmdk', signal });
  const argv = infoArgv(path, { format: 'vmdk', forceShare: true });
  const r = await host.sysExec.run(argv, { signal });
  return (parseInfo(r.stdout, argv) as ImageInfo).virtualSize;
}

/**
 * An ISO left on the VMware host would stop the guest from starting: its drive starts empty instead.
 * The .vmx is outside input, so its ISO path is too: an ISO is attached only when it is a regular
 * file inside the VM's own directory (after symlinks). Anything else (`/etc/shadow` as a
 * cdrom-image) would be given to the guest, and relabelled for QEMU by libvirt, at every start.
 */
async function emptyMissingIsos(host: HostContext, guest: VmxGuest, vmxDir: string): Promise<VmxGuest> {
  const isoPaths = guest.disks.flatMap((d) => (d.device === 'cdrom' && d.source.kind === 'file' ? [d.source.path] : []));
  // The same look the image gate takes (kind and real path, no bytes read): no process locally.
  const dir = (await readFileHead(host.sysExec, vmxDir, 0)).realPath;
  const present = new Set<string>();
  const inside = new Set<string>();
  for (const p of new Set(isoPaths)) {
    const found = await readFileHead(host.sysExec, p, 0);
    if (found.kind === 'missing') continue;
    present.add(p);
    if (dir && found.kind === 'regular' && found.realPath && isInside(dir, found.realPath)) inside.add(p);
  }
  const warnings = [...guest.warnings];
  const disks = guest.disks.map((d) => {
    if (d.device !== 'cdrom' || d.source.kind !== 'file' || inside.has(d.source.path)) return d;
    warnings.push(
      present.has(d.source.path)
        ? `${d.key}: the ISO ${shown(d.source.path)} is not a file in the VM's directory ${shown(vmxDir)}; the CD-ROM drive starts empty (attach it later if you trust it).`
        : `${d.key}: the ISO ${shown(d.source.path)} is not on this host; the CD-ROM drive starts empty.`,
    );
    return { ...d, source: { kind: 'none' as const } };
  });
  return { ...guest, disks, warnings };
}

/** Everything the plan needs to know about the host and the VMware directory. */
export async function inspectImport(host: HostContext, vmxPath: string, signal?: AbortSignal): Promise<ImportFacts> {
  const vmxDir = dirOf(vmxPath);
  const guest = await emptyMissingIsos(host, await readVmx(host, vmxPath, signal), vmxDir);
  const dirs = new Set([vmxDir]);
  const disks: ImportDiskFacts[] = [];
  for (const d of guest.disks) {
    if (d.device !== 'disk' || d.source.kind !== 'file') continue;
    const lookups = await readChain(host, d.source.path);
    const chain = resolveVmdkChain(d.source.path, (p) => lookups.get(p) ?? 'missing');
    for (const l of chain.links) dirs.add(dirOf(l.path));
    const entries = await listDir(host, dirOf(chain.active), signal);
    disks.push({ key: d.key, chain, virtualSize: await virtualSize(host, chain.active, signal), unused: unusedSnapshotFiles(chain, entries) });
  }
  const locks: string[] = [];
  for (const dir of dirs) for (const f of await listDir(host, dir, signal)) if (f.endsWith('.lck')) locks.push(f);
  const [guests, bridges, networks, accel, fixupTools] = await Promise.all([listGuests(host), listBridges(host), listNetworks(host), detectAccel(host.sysExec, { signal }), probeFixupTools(host, signal)]);
  return {
    vmxPath,
    fixupTools,
    guest,
    disks,
    locks,
    existingGuests: guests.map((g) => g.name),
    existingDest: [],
    bridges,
    networks: networks.map((n) => n.name),
    domainType: domainTypeFor(accel.accel),
  };
}

/** Adds the destination files that exist already (they depend on the request). */
export async function withDestFacts(host: HostContext, facts: ImportFacts, req: ImportRequest): Promise<ImportFacts> {
  const dir = importDestDir(facts, req);
  const [existingDest, destDirState] = await Promise.all([existingPaths(host.sysExec, plannedDestFiles(facts, req)), dir === null ? undefined : probeWritableDir(host.sysExec, dir)]);
  return { ...facts, existingDest, destDirState };
}

export interface PreparedImport {
  facts: ImportFacts;
  request: ImportRequest;
  check: ImportCheck;
  /** Absent when refused. Its XML file path is mkdtemp's template until runImport makes the directory. */
  plan?: Plan;
}

/** The review screen's path for the XML file; runImport puts it in a fresh private directory instead. */
const XML_FILE_TEMPLATE = join(tmpdir(), 'virtdeck-import-XXXXXX', 'domain.xml');

export async function prepareImport(host: HostContext, vmxPath: string, req: ImportRequest, signal?: AbortSignal, known?: ImportFacts): Promise<PreparedImport> {
  const facts = await withDestFacts(host, known ?? (await inspectImport(host, vmxPath, signal)), req);
  const check = checkImport(facts, req);
  const iso = await virtioWinRefusal(host, req.virtioWin, signal);
  if (iso) check.refusals.push(iso);
  if (check.refusals.length > 0) return { facts, request: req, check };
  return { facts, request: req, check, plan: planImport(facts, req, { uri: host.uri, xmlFile: XML_FILE_TEMPLATE }) };
}

/** The import's actions: the convert job's (temp dir, place, unplace) and the fix-ups'. */
export function importActions(host: HostContext): Record<string, Action> {
  return { ...convertActions(host), ...importFixupActions(host) };
}

export interface RunImportOptions {
  signal?: AbortSignal;
  onEvent?: (e: RunnerEvent) => void;
}

export async function runImport(host: HostContext, prepared: PreparedImport, opts: RunImportOptions = {}): Promise<RunResult> {
  if (!prepared.plan) throw prepared.check.refusals[0] ?? new UserError('The import was refused.', 'See the reasons above.');
  // virsh define reads the XML from a file: a fresh private directory, so nothing can be waiting at that path.
  const xmlDir = mkdtempSync(join(tmpdir(), 'virtdeck-import-'));
  try {
    const plan = planImport(prepared.facts, prepared.request, { uri: host.uri, xmlFile: join(xmlDir, 'domain.xml') });
    return await runPlan(plan, { host, stateDir: stateDir(), signal: opts.signal, onEvent: opts.onEvent, actions: importActions(host) });
  } finally {
    rmSync(xmlDir, { recursive: true, force: true });
  }
}

/** A failed run as one error to show. */
export function importFailure(r: RunResult): UserError | HostError {
  return (
    r.error ??
    new HostError({ sentence: `The import was ${r.state}; what it had done was undone.`, fix: `The journal ${r.journal.path} has the details.`, command: [], stderr: '', code: 'cancelled' })
  );
}
