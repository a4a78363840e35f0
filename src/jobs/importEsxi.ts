/**
 * Import straight from an ESXi host over SSH, the side-effect half: list the host's VMs (one ssh
 * command), read the chosen VM's directory (one more), resolve and check its disk chains, then run
 * the plan from model/importEsxiPlan.ts: each data file over one ssh stream into a private staging
 * directory on this machine, then the .vmx import's convert/define steps. The copy is written here,
 * so the libvirt host must be this machine too (a qemu+ssh host is refused, as for an OVA).
 */
import { lstatSync, mkdirSync, mkdtempSync, renameSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stateDir } from '../config/paths.js';
import { listAndReadEsxiVm, listEsxiVms, openEsxiMaster, readEsxiVmDir, removeFiles, streamRemoteFile } from '../host/esxi.js';
import { SshExecutor } from '../host/exec.js';
import type { HostContext } from '../host/hostContext.js';
import { inspectUntrustedImage } from '../host/imageInspect.js';
import { detectAccel, domainTypeFor } from '../host/kvm.js';
import { existingPaths, info, check as qemuImgCheck } from '../host/qemuImg.js';
import type { SshMaster } from '../host/sshMaster.js';
import { listBridges, listGuests, listNetworks } from '../host/virsh.js';
import { ESXI_VOLUMES, type EsxiListing, type EsxiVm, pickVm, poweredOnRefusal } from '../model/esxiListing.js';
import { type EsxiDisk, esxiDisk, MAX_VMX_BYTES } from '../model/esxiVmDir.js';
import {
  type CopyArgs,
  type EsxiImportFacts,
  esxiRefusals,
  esxiRequest,
  esxiWarnings,
  factsForRequest,
  planEsxiImport,
  type StageArgs,
  stagingDir,
  type VerifyArgs,
} from '../model/importEsxiPlan.js';
import { checkImport, type ImportRequest } from '../model/importVmwarePlan.js';
import { sshBase } from '../model/p2vPlan.js';
import { shown } from '../model/shown.js';
import { UserError } from '../model/userError.js';
import { parseSparseHeader } from '../model/vmdkDescriptor.js';
import { checkVmwareConfig, parseVmx, type VmxGuest } from '../model/vmx.js';
import { importActions, type PreparedImport, type RunImportOptions, withDestFacts } from './importVmware.js';
import { type Action, type RunResult, runPlan } from './runner.js';

/** Who to log in as on the ESXi host, and where its datastores are. */
export interface EsxiTarget {
  /** root@host */
  destination: string;
  port?: number;
  identityFile?: string;
  /** Extra `-o Key=value` pairs, as ['-o', 'K=V', …]. */
  sshOptions?: string[];
  /** Where the datastores are mounted (default /vmfs/volumes). */
  datastores?: string;
}

/**
 * AES-GCM first: with AES-NI on both ends it costs ssh half the CPU of chacha20-poly1305 (ssh's own
 * first choice) and of aes-ctr with an HMAC (what ssh settles on with ESXi, which offers no chacha20),
 * and ssh's CPU, not the datastore, is what bounds a disk copy. `^` puts these at the head of ssh's
 * defaults, so a host without them still gets a cipher; a Ciphers the admin gave comes first and wins.
 */
export const ESXI_CIPHERS = ['-o', 'Ciphers=^aes128-gcm@openssh.com,aes256-gcm@openssh.com'];

export function esxiSsh(t: EsxiTarget): string[] {
  return sshBase({ kind: 'ssh', destination: t.destination, device: '', port: t.port, identityFile: t.identityFile, sshOptions: [...(t.sshOptions ?? []), ...ESXI_CIPHERS] });
}

function refuseRemote(host: HostContext): void {
  if (host.sysExec instanceof SshExecutor) {
    throw new UserError(`An ESXi VM is copied onto the machine virtdeck runs on, not onto ${host.name}.`, `Run virtdeck on ${host.name} itself (ssh there) and import from the ESXi host from there.`);
  }
}

function datastoreRoot(t: EsxiTarget): string {
  const root = (t.datastores ?? ESXI_VOLUMES).replace(/\/+$/, '');
  if (!root.startsWith('/') || root.split('/').includes('..')) throw new UserError(`"${shown(t.datastores ?? '')}" is not an absolute directory.`, `Give where the datastores are mounted on the host, e.g. ${ESXI_VOLUMES}.`);
  return root;
}

/** Every VM on the host, with its power state. */
export async function listEsxi(t: EsxiTarget, signal?: AbortSignal, master?: SshMaster): Promise<EsxiListing> {
  const ssh = esxiSsh(t);
  return listEsxiVms(master ? master.via(ssh) : ssh, datastoreRoot(t), signal);
}

/**
 * One ssh login for a whole import: the listing, the directory read and every stream go through
 * it (close it in a finally). The journal keeps the plain ssh argv; the master is only ever this
 * run's, so `virtdeck recover` logs in on its own.
 */
export function openEsxiLink(t: EsxiTarget, signal?: AbortSignal): Promise<SshMaster> {
  return openEsxiMaster(esxiSsh(t), signal);
}

/** Files of the host that cannot be attached here: the CD-ROM or floppy starts empty. */
function emptyRemoteMedia(guest: VmxGuest, destination: string): VmxGuest {
  const warnings = [...guest.warnings];
  const disks = guest.disks.map((d) => {
    if (d.device === 'disk' || (d.source.kind !== 'file' && d.source.kind !== 'block')) return d;
    warnings.push(`${d.key}: ${shown(d.source.path)} is on ${destination}; the ${d.device === 'cdrom' ? 'CD-ROM drive' : d.device} starts empty (attach an ISO here later).`);
    return { ...d, source: { kind: 'none' as const } };
  });
  return { ...guest, disks, warnings };
}

/** Everything the plan needs: the VM as read over ssh, each disk's chain, and this host. */
/** `master` may still be logging in: this host's facts are asked meanwhile. */
export async function inspectEsxi(host: HostContext, t: EsxiTarget, vmName: string, signal?: AbortSignal, listing?: EsxiListing, login?: SshMaster | Promise<SshMaster>): Promise<EsxiImportFacts> {
  refuseRemote(host);
  const ssh = esxiSsh(t);
  // This host's side is asked while the ESXi host answers over ssh, not after it.
  const here = Promise.all([listGuests(host), listBridges(host), listNetworks(host), detectAccel(host.sysExec, { signal })]);
  here.catch(() => undefined);
  const master = await login;
  const via = master ? master.via(ssh) : ssh;
  const dirOf = (vm: EsxiVm) => vm.vmx.slice(0, vm.vmx.lastIndexOf('/'));
  // Given no listing (`--vm`), the listing and the VM's directory come in one ssh session.
  const { listing: list, dump } = listing
    ? { listing, dump: await readEsxiVmDir(via, dirOf(pickVm(listing, vmName, t.destination)), signal) }
    : await listAndReadEsxiVm(via, datastoreRoot(t), (l) => dirOf(pickVm(l, vmName, t.destination)), signal);
  const vm: EsxiVm = pickVm(list, vmName, t.destination);
  const dir = dirOf(vm);
  const vmxName = vm.vmx.slice(dir.length + 1);
  const where = `${t.destination}:${vm.vmx}`;
  const vmxBytes = dump.files.get(vmxName);
  if (!vmxBytes) {
    const e = dump.entries.get(vmxName);
    throw e?.kind === 'f'
      ? new UserError(`${shown(where)} has ${e.size} bytes; a .vmx has a few thousand.`, `Check the file on the host; virtdeck reads a .vmx of up to ${MAX_VMX_BYTES} bytes.`)
      : new UserError(`${shown(where)} is not a regular file any more.`, 'List the VMs again (without --vm) and pick one that is there.');
  }
  const text = vmxBytes.toString('utf8');
  checkVmwareConfig(text, shown(where));
  const parsed = parseVmx(text, { source: shown(where), resolveFile: (name) => (name.startsWith('/') ? name : `${dir}/${name}`) });
  const guest = emptyRemoteMedia(parsed, t.destination);
  const names = { root: list.root, datastores: [vm.datastore, ...(list.datastores.get(vm.datastore) ? [list.datastores.get(vm.datastore) as string] : [])], dirName: dir.slice(dir.lastIndexOf('/') + 1) };
  const disks: EsxiDisk[] = [];
  for (const d of guest.disks) {
    if (d.device !== 'disk' || d.source.kind !== 'file') continue;
    disks.push(esxiDisk(d.key, d.source.path, dump, names));
  }
  const [guests, bridges, networks, accel] = await here;
  return {
    vmxPath: vm.vmx,
    guest,
    disks: [],
    locks: [],
    existingGuests: guests.map((g) => g.name),
    existingDest: [],
    bridges,
    networks: networks.map((n) => n.name),
    domainType: domainTypeFor(accel.accel),
    esxi: { destination: t.destination, ssh, vm, dir, disks },
  };
}

async function freeBytes(host: HostContext, dir: string, signal?: AbortSignal): Promise<number | undefined> {
  const r = await host.sysExec.run(['df', '--output=avail', '-B1', '--', dir], { signal, okExitCodes: [1] });
  const n = Number(r.stdout.trim().split('\n').pop()?.trim());
  return r.exitCode === 0 && Number.isFinite(n) ? n : undefined;
}

/** Refusals (the .vmx import's, power state, the staging directory), warnings and the plan. */
export async function prepareEsxiImport(host: HostContext, reqIn: ImportRequest, facts: EsxiImportFacts, signal?: AbortSignal): Promise<PreparedImport> {
  const req = esxiRequest(reqIn);
  const forReq = factsForRequest(facts, req);
  const dir = stagingDir(facts, req);
  // Three questions to this host, asked at once: each is a process or two, and under load one round of them took a tenth of a second or more.
  // df's answer counts only for a destination directory that is there and writable; there its failure is
  // the error, as when it was asked after the others (the catch only keeps a missing directory's quiet).
  const free = freeBytes(host, req.destDir as string, signal);
  free.catch(() => undefined);
  const [withDest, [exists]] = await Promise.all([withDestFacts(host, forReq, req), existingPaths(host.sysExec, [dir])]);
  const destFree = withDest.destDirState === 'ok' || withDest.destDirState === undefined ? await free : undefined;
  const full: EsxiImportFacts = { ...forReq, existingDest: withDest.existingDest, destDirState: withDest.destDirState, destFree };
  const check = checkImport(full, req);
  const power = poweredOnRefusal(facts.esxi.vm, facts.esxi.destination);
  check.refusals.unshift(...(power ? [power] : []), ...esxiRefusals(req));
  check.warnings.push(...esxiWarnings(full));
  if (exists) check.refusals.push(new UserError(`${dir} exists: an import of this VM was cut off, or another one runs.`, 'Finish or roll it back with virtdeck recover, or remove the directory once no import runs.'));
  if (check.refusals.length > 0) return { facts: full, request: req, check };
  return { facts: full, request: req, check, plan: planEsxiImport(full, req, { uri: host.uri, xmlFile: join(tmpdir(), 'virtdeck-import-XXXXXX', 'domain.xml') }) };
}

function lstatOrNull(path: string) {
  try {
    return lstatSync(path);
  } catch {
    return null;
  }
}

const COPY_ATTEMPTS = 3;

/** One data file over one ssh stream, under a temp name until its sha256 matches the host's. */
async function copy(a: CopyArgs, ctx: Parameters<Action>[1], master?: SshMaster): Promise<void> {
  const part = `${a.out}.part`;
  const name = a.remote.slice(a.remote.lastIndexOf('/') + 1);
  for (let attempt = 1; ; attempt++) {
    rmSync(part, { force: true });
    let r: Awaited<ReturnType<typeof streamRemoteFile>>;
    try {
      r = await streamRemoteFile(master ? master.via(a.ssh) : a.ssh, a.remote, part, a.size, { signal: ctx.signal, onBytes: (done) => ctx.progress(a.size > 0 ? Math.min(1, done / a.size) : 1, a.size), image: a.image });
    } catch (e) {
      rmSync(part, { force: true });
      if ((e as { code?: string }).code === 'link' && attempt < COPY_ATTEMPTS) {
        ctx.log(`${(e as Error & { sentence: string }).sentence} Starting ${name} again (attempt ${attempt + 1} of ${COPY_ATTEMPTS}).`);
        continue;
      }
      throw e;
    }
    if (r.remoteSha256 === null) ctx.log(`${name}: the host has neither openssl nor sha256sum; the copy's sha256 is ${r.sha256} (not compared).`);
    else if (r.remoteSha256 !== r.sha256) {
      rmSync(part, { force: true });
      throw new UserError(
        `${shown(name)} changed while it was copied: its sha256 on the host is ${r.remoteSha256.slice(0, 12)}…, the stream was ${r.sha256.slice(0, 12)}….`,
        'Power the VM off in ESXi (a running VM or a snapshot consolidation writes to its disks), then import again.',
      );
    } else ctx.log(`${name}: ${r.bytes} bytes; sha256 ${r.sha256} matches the one computed on the host`);
    renameSync(part, a.out);
    return;
  }
}

/** The copied chain, before qemu-img opens it: the image gate, and each binary extent is what its descriptor says. */
async function checkCopied(host: HostContext, a: { path: string; extents: { path: string; type: string }[] }, signal: AbortSignal): Promise<void> {
  await inspectUntrustedImage(host.sysExec, a.path, { expectFormat: 'vmdk', signal });
  for (const e of a.extents) {
    const fh = await open(e.path, 'r');
    const head = Buffer.alloc(64);
    try {
      await fh.read(head, 0, 64, 0);
    } finally {
      await fh.close();
    }
    const name = shown(e.path.slice(e.path.lastIndexOf('/') + 1));
    // A hosted sparse header with capacity 0 makes qemu read a descriptor inside it, which could name any file here.
    if (e.type === 'SPARSE') {
      const h = parseSparseHeader(head);
      if (!h || h.capacitySectors === 0) throw new UserError(`${name} is not a sparse vmdk extent with its own capacity.`, 'Clone the disk in ESXi (vmkfstools -i) and import the clone.');
    }
    if (e.type === 'VMFSSPARSE' && head.subarray(0, 4).toString('latin1') !== 'COWD') throw new UserError(`${name} is not an ESXi delta (vmfsSparse) file.`, 'Consolidate the snapshots in ESXi, then import again.');
  }
}

/** The import's actions; with a master, every stream logs in through it. */
/** The converted image before it is put in place: sound metadata (qcow2) and the source's virtual size (model/importEsxiPlan.ts says why not a compare). */
async function verifyImage(host: HostContext, a: VerifyArgs): Promise<void> {
  const name = shown(a.path.slice(a.path.lastIndexOf('/') + 1));
  const format = a.format === 'qcow2' ? 'qcow2' : 'raw';
  const [c, i] = await Promise.all([format === 'qcow2' ? qemuImgCheck(host.sysExec, a.path, { format }) : null, info(host.sysExec, a.path, { format })]);
  if (c && !c.ok) {
    throw new UserError(`The new image ${name} failed qemu-img check (${c.corruptions} corrupt, ${c.leaks} leaked, ${c.checkErrors} unreadable): nothing was put in place.`, 'Check the destination disk (dmesg, free space), then import again.');
  }
  if (i.virtualSize !== a.virtualSize) {
    throw new UserError(`The new image ${name} holds ${i.virtualSize} bytes, but the disk has ${a.virtualSize}: nothing was put in place.`, 'Check free space in the destination directory, then import again.');
  }
}

export function esxiActions(host: HostContext, master?: SshMaster): Record<string, Action> {
  return {
    ...importActions(host),
    'esxi.stage': async (raw) => {
      const a = raw as StageArgs;
      try {
        mkdirSync(a.dir, { mode: 0o700 });
      } catch (e) {
        // Finishing a run cut off after this step began: the directory is this job's (prepare refused an existing one).
        const st = lstatOrNull(a.dir);
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST' || !st?.isDirectory() || (st.mode & 0o077) !== 0) throw e;
      }
      for (const d of a.descriptors) writeFileSync(d.path, d.text, { mode: 0o600 });
    },
    'esxi.copy': (raw, ctx) => copy(raw as CopyArgs, ctx, master),
    'esxi.verify': (raw) => verifyImage(host, raw as VerifyArgs),
    'esxi.check': (raw, ctx) => checkCopied(host, raw as { path: string; extents: { path: string; type: string }[] }, ctx.signal),
    'esxi.removeFiles': async (raw) => removeFiles((raw as { files: string[] }).files),
    'esxi.removeDir': async (raw) => {
      const a = raw as { dir: string; files: string[] };
      await removeFiles(a.files);
      try {
        rmdirSync(a.dir);
      } catch {
        // Gone already, or something else is in it: then it stays for the admin.
      }
    },
  };
}

/**
 * Runs the plan. `master`: the caller's login (the CLI's, opened before the listing). Without one,
 * a VM with several data files gets its own for the run (one login, not one per file); a single
 * file is one login either way.
 */
export async function runEsxiImport(host: HostContext, prepared: PreparedImport, opts: RunImportOptions & { master?: SshMaster } = {}): Promise<RunResult> {
  if (!prepared.plan) throw prepared.check.refusals[0] ?? new UserError('The import was refused.', 'See the reasons above.');
  refuseRemote(host);
  const facts = prepared.facts as EsxiImportFacts;
  const files = facts.esxi.disks.reduce((n, d) => n + d.extents.length, 0);
  const own = !opts.master && files > 1 ? await openEsxiMaster(facts.esxi.ssh, opts.signal) : undefined;
  const xmlDir = mkdtempSync(join(tmpdir(), 'virtdeck-import-'));
  try {
    const plan = planEsxiImport(facts, prepared.request, { uri: host.uri, xmlFile: join(xmlDir, 'domain.xml') });
    return await runPlan(plan, { host, stateDir: stateDir(), signal: opts.signal, onEvent: opts.onEvent, actions: esxiActions(host, opts.master ?? own) });
  } finally {
    rmSync(xmlDir, { recursive: true, force: true });
    await own?.close();
  }
}
