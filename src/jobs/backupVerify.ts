/**
 * Verifies backup runs: `qemu-img check` of every image of the chain, the chain as qemu sees it
 * (each backing file resolving to the parent run's image), the sha256 of every file against its
 * manifest, and optionally a test restore (the chain converted into one temporary image and
 * compared with the chain's top). The result is written into the run's manifest (`verified`).
 */
import { posix } from 'node:path';
import type { HostContext } from '../host/hostContext.js';
import { inspectUntrustedImage } from '../host/imageInspect.js';
import * as qemuImg from '../host/qemuImg.js';
import { type BackupManifest, type CatalogRun, chainOf, MANIFEST_NAME, serializeManifest, type VerifyResult } from '../model/backupManifest.js';
import { UserError } from '../model/userError.js';
import { hashFiles, writeRemoteFile } from './backup.js';
import { type GuestBackups, readCatalog } from './backupCatalog.js';
import { statIdentities } from './runCheck.js';
import { recordVerified, type VerifiedStore } from './verifiedRuns.js';

export interface VerifyOptions {
  dest: string;
  /** Only this guest's runs; all guests when absent. */
  guest?: string;
  /** Only this run (and the chain it needs). */
  run?: string;
  testRestore?: boolean;
  signal?: AbortSignal;
  onLine?: (line: string) => void;
  /** Record each image found matching its manifest, so instant recovery need not hash it again (verifiedRuns.ts). */
  trust?: VerifiedStore;
}

export interface RunVerifyReport {
  guest: string;
  run: string;
  ok: boolean;
  findings: string[];
  testRestore: boolean;
}

/** Per-image results shared by the runs whose chains contain it (a full is checked once, not once per incremental). */
interface ImageCache {
  findings: Map<string, string[]>;
}

/**
 * A run is outside data: qemu-img opens its image only when the image (and its ../PARENT/ chain)
 * names nothing but regular files in the guest's part of the destination. A refusal is a finding.
 */
async function gateFinding(host: HostContext, path: string, format: string): Promise<string | null> {
  try {
    await inspectUntrustedImage(host.sysExec, path, { roots: [posix.dirname(posix.dirname(path))], expectFormat: format, allowMissing: true });
    return null;
  } catch (e) {
    if (e instanceof UserError) return e.sentence;
    throw e;
  }
}

async function checkImage(host: HostContext, path: string, format: string, sha256: string | null, hashes: Map<string, { sha256: string }>): Promise<string[]> {
  const findings: string[] = [];
  // A missing file is reported below; anything there passes the gate before qemu-img opens it.
  const refused = hashes.has(path) ? await gateFinding(host, path, format) : null;
  if (refused) return [refused];
  try {
    const c = await qemuImg.check(host.sysExec, path, { format });
    if (!c.ok) findings.push(`${path}: qemu-img check found ${c.corruptions} corruption(s), ${c.leaks} leak(s), ${c.checkErrors} check error(s).`);
  } catch (e) {
    findings.push(`${path}: qemu-img check failed (${e instanceof Error ? e.message : String(e)}).`);
  }
  const h = hashes.get(path);
  if (!h) findings.push(`${path}: the file is missing.`);
  else if (sha256 && h.sha256 !== sha256) findings.push(`${path}: its sha256 differs from the manifest (the file changed after the backup: bit rot or tampering).`);
  return findings;
}

/** The rebuilt chain as qemu resolves it, compared with the manifests' chain. */
async function checkChain(host: HostContext, dest: string, guest: string, chain: CatalogRun[], target: string): Promise<string[]> {
  const top = chain[chain.length - 1] as CatalogRun;
  const disk = top.manifest.disks.find((d) => d.target === target);
  if (!disk) return [];
  const expected = [...chain].reverse().map((r) => {
    const d = r.manifest.disks.find((x) => x.target === target);
    return d ? `${dest}/${guest}/${r.name}/${d.file}` : null;
  });
  const refused = await gateFinding(host, `${dest}/${guest}/${top.name}/${disk.file}`, disk.format);
  if (refused) return [`${top.name} ${target}: ${refused}`];
  try {
    const infos = await qemuImg.info(host.sysExec, `${dest}/${guest}/${top.name}/${disk.file}`, { format: disk.format, backingChain: true });
    const got = infos.map((i) => i.filename);
    const norm = (p: string | null) => (p ?? '').replace(/\/[^/]+\/\.\.\//g, '/');
    if (got.length !== expected.length || got.some((g, i) => norm(g) !== norm(expected[i] ?? null))) {
      return [`${top.name} ${target}: the backing chain is ${got.join(' → ')}, expected ${expected.join(' → ')}.`];
    }
  } catch (e) {
    return [`${top.name} ${target}: the backing chain cannot be opened (${e instanceof Error ? e.message : String(e)}).`];
  }
  return [];
}

async function testRestoreChain(host: HostContext, dest: string, guest: string, top: CatalogRun, signal?: AbortSignal): Promise<string[]> {
  const findings: string[] = [];
  const tmp = (await host.sysExec.run(['mktemp', '-d', '/var/tmp/virtdeck-verify-XXXXXX'])).stdout.trim();
  try {
    for (const d of top.manifest.disks) {
      const src = `${dest}/${guest}/${top.name}/${d.file}`;
      const out = `${tmp}/${d.target}.qcow2`;
      await qemuImg.convert(host.sysExec, { source: src, sourceFormat: d.format, dest: out, destFormat: 'qcow2' }, { signal });
      const cmp = await qemuImg.compare(host.sysExec, out, src, { formatA: 'qcow2', formatB: d.format, signal });
      if (!cmp.identical) findings.push(`${top.name} ${d.target}: the test restore differs from the backup (${cmp.message}).`);
    }
  } finally {
    await host.sysExec.run(['rm', '-rf', '--', tmp]).catch(() => undefined);
  }
  return findings;
}

async function verifyOne(host: HostContext, dest: string, g: GuestBackups, run: CatalogRun, o: VerifyOptions, cache: ImageCache): Promise<RunVerifyReport> {
  const findings: string[] = [];
  let chain: CatalogRun[] = [];
  try {
    chain = chainOf(g.runs, run.name);
  } catch (e) {
    findings.push(e instanceof UserError ? e.sentence : String(e));
  }
  const todo = chain.flatMap((r) => r.manifest.disks.map((d) => ({ path: `${dest}/${g.guest}/${r.name}/${d.file}`, d })));
  const fresh = todo.filter((t) => !cache.findings.has(t.path));
  if (fresh.length > 0) {
    const present = await qemuImg.existingPaths(host.sysExec, fresh.map((t) => t.path));
    // Taken before the hash, so any later change to a file shows as a different identity.
    const ids = o.trust ? await statIdentities(host.sysExec, present, o.signal) : null;
    const hashes = await hashFiles(host.sysExec, present, o.signal);
    const good: { path: string; identity: string; sha256: string }[] = [];
    for (const t of fresh) {
      o.onLine?.(`check ${t.path}`);
      const found = await checkImage(host, t.path, t.d.format, t.d.sha256, hashes);
      cache.findings.set(t.path, found);
      if (found.length === 0 && t.d.sha256 && hashes.get(t.path)?.sha256 === t.d.sha256) good.push({ path: t.path, identity: ids?.get(t.path) ?? '', sha256: t.d.sha256 });
    }
    if (o.trust) recordVerified(o.trust, good);
  }
  for (const t of todo) findings.push(...(cache.findings.get(t.path) ?? []));
  if (chain.length > 0) {
    for (const d of run.manifest.disks) findings.push(...(await checkChain(host, dest, g.guest, chain, d.target)));
  }
  let restored = false;
  if (o.testRestore && findings.length === 0) {
    o.onLine?.(`test restore ${g.guest}/${run.name}`);
    const f = await testRestoreChain(host, dest, g.guest, run, o.signal);
    findings.push(...f);
    restored = f.length === 0;
  }
  const verified: VerifyResult = { at: new Date().toISOString(), ok: findings.length === 0, findings, testRestore: restored };
  const manifest: BackupManifest = { ...run.manifest, verified };
  await writeRemoteFile(host.sysExec, `${dest}/${g.guest}/${run.name}/${MANIFEST_NAME}`, serializeManifest(manifest));
  return { guest: g.guest, run: run.name, ok: verified.ok, findings, testRestore: restored };
}

/** Verifies runs at a destination (all, one guest's, or one run) and records each verdict in its manifest. */
export async function verifyRun(host: HostContext, o: VerifyOptions): Promise<RunVerifyReport[]> {
  const catalog = await readCatalog(host.sysExec, o.dest, o.signal);
  const guests = o.guest ? catalog.filter((g) => g.guest === o.guest) : catalog;
  if (o.guest && guests.length === 0) {
    throw new UserError(`There are no backups of ${o.guest} in ${o.dest}.`, 'List what is there with `virtdeck backup list --dest DIR`.');
  }
  const reports: RunVerifyReport[] = [];
  for (const g of guests) {
    const runs = o.run ? g.runs.filter((r) => r.name === o.run) : g.runs;
    const damaged = o.run ? g.damaged.filter((d) => d.name === o.run) : g.damaged;
    if (o.run && runs.length === 0 && damaged.length === 0) {
      throw new UserError(`There is no run ${o.run} of ${g.guest} in ${o.dest}.`, `List the runs with \`virtdeck backup list --dest ${o.dest}\`.`);
    }
    const cache: ImageCache = { findings: new Map() };
    for (const r of runs) reports.push(await verifyOne(host, o.dest, g, r, o, cache));
    for (const d of damaged) reports.push({ guest: g.guest, run: d.name, ok: false, findings: [d.reason], testRestore: false });
  }
  return reports;
}
