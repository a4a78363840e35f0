/**
 * Import of an OVA / OVF export, the side-effect half. Before anything else: the archive's tar
 * headers are walked (truncation, symlinks, `..` and absolute names refuse it), the descriptor and
 * manifest are read, the descriptor's own digest is checked and every file it uses must be in the
 * manifest. The disks' digests are checked by the plan's first step while they are read out of the
 * archive, once (model/importOvaPlan.ts); the rest is the .vmx import (importVmware.ts).
 * A `.cert` must sign the manifest as it is (checkSignature); who signed it is shown, not judged.
 * The archive is read with Node on this machine, so a remote host (qemu+ssh) is refused.
 */
import { createHash, X509Certificate, verify } from 'node:crypto';
import { closeSync, lstatSync, mkdirSync, mkdtempSync, openSync, readSync, rmdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stateDir } from '../config/paths.js';
import { SshExecutor } from '../host/exec.js';
import type { HostContext } from '../host/hostContext.js';
import { inspectUntrustedImage } from '../host/imageInspect.js';
import { detectAccel, domainTypeFor } from '../host/kvm.js';
import { indexOva, type OvaIndex, readMemberText, streamMembers } from '../host/ovaArchive.js';
import { existingPaths } from '../host/qemuImg.js';
import { listBridges, listGuests, listNetworks } from '../host/virsh.js';
import { type ExtractArgs, extractDir, factsForRequest, type OvaImportFacts, type OvaPackage, ovaRefusals, ovaWarnings, type PackageFile, planOvaImport } from '../model/importOvaPlan.js';
import { checkImport, type ImportRequest } from '../model/importVmwarePlan.js';
import { badSignature, certFileFor, checkManifestCoverage, digestMismatch, type ManifestEntry, type OvaSignature, parseCert, parseManifest, unusableSignature } from '../model/ovaPackage.js';
import { checkPackageName, parseOvf } from '../model/ovf.js';
import { shown } from '../model/shown.js';
import { UserError } from '../model/userError.js';
import { probeFixupTools, virtioWinRefusal } from './importFixup.js';
import { importActions, type PreparedImport, type RunImportOptions, withDestFacts } from './importVmware.js';
import { type Action, type RunResult, runPlan } from './runner.js';

const MAX_DESCRIPTOR_BYTES = 4 * 1024 * 1024;

function dirOf(path: string): string {
  const slash = path.lastIndexOf('/');
  return slash <= 0 ? '/' : path.slice(0, slash);
}

function baseOf(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

function refuseRemote(host: HostContext): void {
  if (host.sysExec instanceof SshExecutor) {
    throw new UserError(`An OVA or OVF is read on the machine virtdeck runs on, not on ${host.name}.`, `Run virtdeck on ${host.name} itself (ssh there), or copy the export here and import it into a local libvirt.`);
  }
}

function sha(algorithm: string, text: string): string {
  return createHash(algorithm).update(text, 'utf8').digest('hex');
}

/** The .ova's files, or the .ovf's and the files beside it that it names. */
async function readPackage(path: string): Promise<OvaPackage> {
  if (/\.ova$/i.test(path)) {
    const index: OvaIndex = await indexOva(path);
    const src = shown(path);
    // The OVF standard puts the descriptor first and the manifest right after it.
    const first = index.members[0];
    if (!first || !/\.ovf$/i.test(first.name)) {
      throw new UserError(`${src} does not start with an OVF descriptor (.ovf)${first ? `; its first file is ${shown(first.name)}` : ''}, so it is not an OVA.`, 'Give an .ova exported by VMware or ovftool.');
    }
    const xml = await readMemberText(index, first, MAX_DESCRIPTOR_BYTES);
    const mfMember = index.members.find((m) => /\.mf$/i.test(m.name));
    const mfName = mfMember?.name ?? null;
    const mfText = mfMember ? await readMemberText(index, mfMember, MAX_DESCRIPTOR_BYTES) : null;
    const manifest = mfMember && mfText !== null ? parseManifest(mfText, `${shown(mfMember.name)} in ${src}`) : [];
    const ovf = parseOvf(xml, { source: `${shown(first.name)} in ${src}` });
    const files: PackageFile[] = index.members.map((m) => ({ name: m.name, offset: m.offset, size: m.size, path: null }));
    checkDescriptorDigest(manifest, first.name, xml, mfName);
    checkManifestCoverage(manifest, files.map((f) => f.name), mfName ? [first.name, ...ovf.files.map((f) => f.href)] : [], mfName ? `${shown(mfName)} in ${src}` : src);
    if (!mfName) for (const f of ovf.files) if (!files.some((x) => x.name === f.href)) throw new UserError(`${src} has no ${shown(f.href)}, which its descriptor uses: it is truncated or incomplete.`, 'Copy the .ova again.');
    const certName = certFileFor(first.name, index.members.map((m) => m.name));
    const certMember = index.members.find((m) => m.name === certName);
    const signature = certMember ? checkSignature(await readMemberText(index, certMember, MAX_DESCRIPTOR_BYTES), certMember.name, mfText, mfName) : null;
    return { kind: 'ova', path, descriptorName: first.name, manifestName: mfName, manifest, files, ovf, signature };
  }
  if (!/\.ovf$/i.test(path)) throw new UserError(`${shown(path)} is neither an .ova nor an .ovf.`, 'Give the .ova file, or the .ovf descriptor of a directory export.');
  const st = lstatOrNull(path);
  if (!st) throw new UserError(`${shown(path)} does not exist.`, 'Check the path of the .ovf.');
  if (!st.isFile()) throw new UserError(`${shown(path)} is not a regular file.`, 'Give the .ovf descriptor itself.');
  if (st.size > MAX_DESCRIPTOR_BYTES) throw new UserError(`${shown(path)} has ${st.size} bytes; an OVF descriptor has far less.`, 'Give the .ovf descriptor of the export.');
  const dir = dirOf(path);
  const xml = readSmall(path);
  const ovf = parseOvf(xml, { source: shown(path) });
  const descriptorName = baseOf(path);
  const mfName = descriptorName.replace(/\.ovf$/i, '.mf');
  const mfPath = `${dir}/${mfName}`;
  const mfStat = lstatOrNull(mfPath);
  const mfText = mfStat?.isFile() ? readSmall(mfPath) : null;
  const manifest = mfText !== null ? parseManifest(mfText, shown(mfPath)) : [];
  const names = [...new Set([descriptorName, ...manifest.map((e) => e.name), ...ovf.files.map((f) => f.href)])];
  const files: PackageFile[] = [];
  for (const name of names) {
    checkPackageName(name, shown(path), 'the file');
    const p = `${dir}/${name}`;
    const s = lstatOrNull(p);
    // A symlink could make a "file of the export" any file of this host.
    if (s && !s.isFile()) throw new UserError(`${shown(p)} is not a regular file (a symlink or a directory); an export holds only plain files.`, 'Copy the export again as plain files.');
    if (s) files.push({ name, offset: 0, size: s.size, path: p });
  }
  const manifestName = mfStat?.isFile() ? mfName : null;
  checkDescriptorDigest(manifest, descriptorName, xml, manifestName);
  checkManifestCoverage(manifest, files.map((f) => f.name), manifestName ? [descriptorName, ...ovf.files.map((f) => f.href)] : [], manifestName ? shown(mfPath) : shown(path));
  if (!manifestName) for (const f of ovf.files) if (!files.some((x) => x.name === f.href)) throw new UserError(`${shown(dir)} has no ${shown(f.href)}, which ${shown(descriptorName)} uses.`, 'Copy the whole export directory.');
  // Only the signature file named like the descriptor: virtdeck reads no other file of the directory.
  const certName = descriptorName.replace(/\.ovf$/i, '.cert');
  const certStat = lstatOrNull(`${dir}/${certName}`);
  if (certStat && !certStat.isFile()) throw new UserError(`${shown(`${dir}/${certName}`)} is not a regular file (a symlink or a directory); an export holds only plain files.`, 'Copy the export again as plain files.');
  const signature = certStat ? checkSignature(readSmall(`${dir}/${certName}`), certName, mfText, manifestName) : null;
  return { kind: 'ovf', path, descriptorName, manifestName, manifest, files, ovf, signature };
}

function lstatOrNull(path: string) {
  try {
    return lstatSync(path);
  } catch {
    return null;
  }
}

function readSmall(path: string): string {
  const fd = openSync(path, 'r');
  try {
    const size = Math.min(statSync(path).size, MAX_DESCRIPTOR_BYTES);
    const buf = Buffer.alloc(size);
    const n = readSync(fd, buf, 0, size, 0);
    return buf.subarray(0, n).toString('utf8');
  } finally {
    closeSync(fd);
  }
}

/**
 * A `.cert` (ovftool's signature) must be a signature of the manifest, exactly as it is, by the key
 * of the certificate it carries; the manifest's digests then cover every other file. Who the
 * signer is stays the admin's judgement: the review shows subject, issuer and fingerprint, since
 * a self-signed certificate proves only that the manifest was not changed after signing.
 */
export function checkSignature(certText: string, certName: string, mfText: string | null, mfName: string | null, now = Date.now()): OvaSignature {
  const cert = parseCert(certText, shown(certName));
  if (mfText === null || !mfName) throw unusableSignature(certName, 'the package has no manifest (.mf) for it to sign');
  if (cert.signs !== mfName) throw unusableSignature(certName, `it signs ${shown(cert.signs)}, not the package's manifest ${shown(mfName)}`);
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(cert.pem);
  } catch {
    throw unusableSignature(certName, 'its certificate is not a readable X.509 certificate');
  }
  let ok: boolean;
  try {
    ok = verify(cert.algorithm, Buffer.from(mfText, 'utf8'), x509.publicKey, Buffer.from(cert.signatureHex, 'hex'));
  } catch {
    ok = false;
  }
  if (!ok) throw badSignature(certName, mfName);
  const oneLine = (dn: string) => dn.split('\n').filter(Boolean).join(', ');
  return {
    certName,
    subject: oneLine(x509.subject),
    issuer: oneLine(x509.issuer),
    fingerprint: x509.fingerprint256,
    validTo: x509.validTo,
    expired: Date.parse(x509.validTo) < now,
    selfSigned: x509.checkIssued(x509) && x509.verify(x509.publicKey),
  };
}

function checkDescriptorDigest(manifest: ManifestEntry[], name: string, xml: string, mf: string | null): void {
  const e = manifest.find((m) => m.name === name);
  if (e && sha(e.algorithm, xml) !== e.digest) throw digestMismatch(name, e.algorithm, shown(mf ?? 'the manifest'));
}

/** Everything the plan needs: the package, the guest as the .vmx path reads it, and the host. */
export async function inspectOva(host: HostContext, path: string, signal?: AbortSignal): Promise<OvaImportFacts> {
  refuseRemote(host);
  if (!path.startsWith('/')) throw new UserError(`"${path}" is not an absolute path.`, 'Give the full path of the .ova or .ovf.');
  const ova = await readPackage(path);
  const facts0: OvaImportFacts = {
    vmxPath: path,
    guest: ova.ovf.guest,
    disks: [],
    locks: [],
    existingGuests: [],
    existingDest: [],
    bridges: [],
    networks: [],
    domainType: 'qemu',
    ova,
  };
  const [guests, bridges, networks, accel, fixupTools] = await Promise.all([listGuests(host), listBridges(host), listNetworks(host), detectAccel(host.sysExec, { signal }), probeFixupTools(host, signal)]);
  const facts: OvaImportFacts = {
    ...facts0,
    fixupTools,
    existingGuests: guests.map((g) => g.name),
    bridges,
    networks: networks.map((n) => n.name),
    domainType: domainTypeFor(accel.accel),
  };
  // A directory export's disks are used in place: the image gate runs before qemu-img sees them.
  if (ova.kind === 'ovf') {
    for (const d of ova.ovf.disks) {
      const p = ova.files.find((f) => f.name === d.href)?.path;
      if (p) await inspectUntrustedImage(host.sysExec, p, { expectFormat: 'vmdk', signal });
    }
  }
  return facts;
}

/** Facts for the request, refusals (the .vmx import's and the package's), warnings and the plan. */
export async function prepareOvaImport(host: HostContext, path: string, req: ImportRequest, signal?: AbortSignal, known?: OvaImportFacts): Promise<PreparedImport> {
  const base = known ?? (await inspectOva(host, path, signal));
  const forReq = factsForRequest(base, req);
  const withDest = { ...(await withDestFacts(host, forReq, req)), ova: base.ova } as OvaImportFacts;
  const check = checkImport(withDest, req);
  check.refusals.unshift(...ovaRefusals(req));
  check.warnings.push(...ovaWarnings(base));
  const iso = await virtioWinRefusal(host, req.virtioWin, signal);
  if (iso) check.refusals.push(iso);
  if (base.ova.kind === 'ova' && req.convert !== 'none') {
    const dir = extractDir(base, req);
    const [exists] = await existingPaths(host.sysExec, [dir]);
    if (exists) check.refusals.push(new UserError(`${dir} exists: an import of this package was cut off, or another one runs.`, 'Finish or roll it back with virtdeck recover, or remove the directory once no import runs.'));
  }
  // The request's facts (disks at the paths they are converted from), so buildImportDomain shows the real XML.
  const facts = factsForRequest({ ...base, existingDest: withDest.existingDest, destDirState: withDest.destDirState }, req);
  if (check.refusals.length > 0) return { facts, request: req, check };
  return { facts, request: req, check, plan: planOvaImport(facts, req, { uri: host.uri, xmlFile: join(tmpdir(), 'virtdeck-import-XXXXXX', 'domain.xml') }) };
}

function firstBytes(path: string, n: number): Buffer {
  const fd = openSync(path, 'r');
  try {
    const b = Buffer.alloc(n);
    const got = readSync(fd, b, 0, n, 0);
    return b.subarray(0, got);
  } finally {
    closeSync(fd);
  }
}

/** The package's actions, then the .vmx import's (convert's). */
export function ovaActions(host: HostContext): Record<string, Action> {
  const check = async (a: ExtractArgs, ctx: Parameters<Action>[1], write: boolean) => {
    const mf = a.manifest ?? 'the manifest';
    const byFile = new Map<string, ExtractArgs['targets']>();
    for (const t of a.targets) {
      const file = write ? a.archive : (t.path as string);
      byFile.set(file, [...(byFile.get(file) ?? []), t]);
    }
    const total = a.targets.reduce((n, t) => n + t.size, 0);
    let before = 0;
    for (const [file, targets] of byFile) {
      const digests = await streamMembers(
        file,
        targets.map((t) => ({ member: { name: t.name, offset: t.offset, size: t.size }, algorithm: t.algorithm, ...(write && t.out ? { out: t.out } : {}) })),
        { signal: ctx.signal, onBytes: (done) => ctx.progress(total ? (before + done) / total : 1, total) },
      );
      before += targets.reduce((n, t) => n + t.size, 0);
      for (const t of targets) {
        if (t.algorithm && t.digest && digests.get(t.name) !== t.digest) throw digestMismatch(t.name, t.algorithm, mf);
      }
    }
    for (const t of a.targets) {
      const disk = write ? t.out : t.path;
      if (!t.disk || !disk) continue;
      // streamOptimized and sparse vmdk start with "KDMV"; a text descriptor could name any host file as its extent.
      if (firstBytes(disk, 4).toString('latin1') !== 'KDMV') {
        throw new UserError(`${shown(t.name)} is not a sparse vmdk (streamOptimized), the only disk an OVA holds.`, 'Export the VM again from VMware.');
      }
      await inspectUntrustedImage(host.sysExec, disk, { expectFormat: 'vmdk', signal: ctx.signal });
      ctx.log(`${t.name}: ${t.algorithm ? `${t.algorithm.toUpperCase()} matches ${mf}` : 'no digest to check'}${write ? `; written to ${disk}` : ''}`);
    }
  };
  return {
    ...importActions(host),
    'ova.extract': async (raw, ctx) => {
      const a = raw as ExtractArgs;
      try {
        // A fresh private directory: nothing can be waiting at the names written into it.
        mkdirSync(a.dir, { mode: 0o700 });
      } catch (e) {
        // Finishing a run that was cut off during this step: the directory is this job's own
        // (prepare refused an existing one), so its partial files go and the step starts over.
        const st = lstatOrNull(a.dir);
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST' || !st?.isDirectory() || (st.mode & 0o077) !== 0) throw e;
        for (const t of a.targets) if (t.out) rmSync(t.out, { force: true });
      }
      await check(a, ctx, true);
    },
    'ova.verify': async (raw, ctx) => {
      await check(raw as ExtractArgs, ctx, false);
    },
    'ova.removeDir': async (raw) => {
      const a = raw as { dir: string; files: string[] };
      for (const f of a.files) rmSync(f, { force: true });
      try {
        rmdirSync(a.dir);
      } catch {
        // Gone already, or something else is in it: then it stays for the admin.
      }
    },
  };
}

export async function runOvaImport(host: HostContext, prepared: PreparedImport, opts: RunImportOptions = {}): Promise<RunResult> {
  if (!prepared.plan) throw prepared.check.refusals[0] ?? new UserError('The import was refused.', 'See the reasons above.');
  refuseRemote(host);
  const xmlDir = mkdtempSync(join(tmpdir(), 'virtdeck-import-'));
  try {
    const plan = planOvaImport(prepared.facts as OvaImportFacts, prepared.request, { uri: host.uri, xmlFile: join(xmlDir, 'domain.xml') });
    return await runPlan(plan, { host, stateDir: stateDir(), signal: opts.signal, onEvent: opts.onEvent, actions: ovaActions(host) });
  } finally {
    rmSync(xmlDir, { recursive: true, force: true });
  }
}
