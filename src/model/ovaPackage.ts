/**
 * The package around an OVF descriptor, pure: the `.mf` manifest (one `SHA256(name)= hex` line per
 * file), the tar headers of an `.ova`, and the rules both must follow before one byte of a disk is
 * used. Both are hostile input: names are checked as package names (model/ovf.ts), a tar member
 * may only be a regular file in the archive's root, and a manifest that does not cover a file the
 * descriptor uses, or names a file the package lacks, refuses the import naming the file.
 */
import { checkPackageName } from './ovf.js';
import { shown } from './shown.js';
import { UserError } from './userError.js';

export type DigestAlgorithm = 'sha1' | 'sha256' | 'sha512';

export interface ManifestEntry {
  name: string;
  algorithm: DigestAlgorithm;
  /** Lower-case hex. */
  digest: string;
  line: number;
}

const DIGEST_HEX: Record<DigestAlgorithm, number> = { sha1: 40, sha256: 64, sha512: 128 };

const REEXPORT = 'Copy the export again from where it was made, or export the VM again; virtdeck does not import a package whose files do not match its manifest.';

export function parseManifest(text: string, source: string): ManifestEntry[] {
  const out: ManifestEntry[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (line === '') return;
    const m = /^(SHA1|SHA256|SHA512)\((.*)\)\s*=\s*([0-9a-fA-F]+)$/i.exec(line);
    if (!m) throw new UserError(`${source} line ${i + 1} is not "SHA256(file)= digest": ${shown(line.slice(0, 60))}.`, REEXPORT);
    const algorithm = (m[1] as string).toLowerCase() as DigestAlgorithm;
    const name = checkPackageName(m[2] as string, source, 'the file');
    const digest = (m[3] as string).toLowerCase();
    if (digest.length !== DIGEST_HEX[algorithm]) throw new UserError(`${source} line ${i + 1}: the ${algorithm.toUpperCase()} of ${shown(name)} has ${digest.length} hex digits, not ${DIGEST_HEX[algorithm]}.`, REEXPORT);
    if (out.some((e) => e.name === name)) throw new UserError(`${source} names ${shown(name)} twice.`, REEXPORT);
    out.push({ name, algorithm, digest, line: i + 1 });
  });
  return out;
}

/**
 * Before anything is read: every file the descriptor uses must be in the manifest and in the
 * package, and every file the manifest names must be in the package (a missing one: truncated).
 */
export function checkManifestCoverage(entries: ManifestEntry[], packageFiles: string[], used: string[], source: string): void {
  const present = new Set(packageFiles);
  for (const e of entries) {
    if (!present.has(e.name)) throw new UserError(`${source} lists ${shown(e.name)}, which is not in the package: it is truncated or incomplete.`, REEXPORT);
  }
  const listed = new Set(entries.map((e) => e.name));
  for (const name of used) {
    if (!present.has(name)) throw new UserError(`The package has no ${shown(name)}, which its descriptor uses: it is truncated or incomplete.`, REEXPORT);
    if (!listed.has(name)) throw new UserError(`${source} has no digest for ${shown(name)}, so it cannot be checked.`, REEXPORT);
  }
}

/** The refusal when a file's digest differs from the manifest's. */
export function digestMismatch(name: string, algorithm: DigestAlgorithm, source: string): UserError {
  return new UserError(`${shown(name)} does not match its ${algorithm.toUpperCase()} in ${source}: the package was changed or damaged after it was made.`, REEXPORT);
}

// ---------------------------------------------------------------- tar

export type TarKind = 'file' | 'directory' | 'pax' | 'pax-global' | 'gnu-longname' | 'other';

export interface TarHeader {
  name: string;
  size: number;
  kind: TarKind;
  /** The type flag as written ('0', '5', '2'…), for messages. */
  typeflag: string;
}

const BLOCK = 512;

function field(b: Buffer, off: number, len: number): string {
  const raw = b.subarray(off, off + len);
  const nul = raw.indexOf(0);
  return raw.subarray(0, nul < 0 ? len : nul).toString('utf8');
}

/** Octal, or GNU's base-256 (first byte 0x80) for members of 8 GiB and more. */
function numeric(b: Buffer, off: number, len: number): number | null {
  if ((b[off] as number) & 0x80) {
    let n = (b[off] as number) & 0x7f;
    for (let i = 1; i < len; i++) n = n * 256 + (b[off + i] as number);
    return Number.isSafeInteger(n) ? n : null;
  }
  const t = field(b, off, len).trim();
  if (t === '') return 0;
  return /^[0-7]+$/.test(t) ? Number.parseInt(t, 8) : null;
}

export function isZeroBlock(b: Buffer): boolean {
  for (const x of b) if (x !== 0) return false;
  return true;
}

/** One 512-byte header. UserError (naming the archive and the offset) when it is not a tar header. */
export function parseTarHeader(b: Buffer, at: number, source: string): TarHeader {
  const bad = (what: string) => new UserError(`${source} is not a whole tar archive: ${what} at byte ${at}.`, REEXPORT);
  if (b.length !== BLOCK) throw bad('the archive ends inside a header');
  const stored = numeric(b, 148, 8);
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 32 : (b[i] as number);
  if (stored === null || stored !== sum) throw bad('a header whose checksum is wrong');
  const size = numeric(b, 124, 12);
  if (size === null) throw bad('a header whose size is not a number');
  const typeflag = String.fromCharCode(b[156] as number);
  const magic = field(b, 257, 6);
  const prefix = magic.startsWith('ustar') ? field(b, 345, 155) : '';
  const base = field(b, 0, 100);
  const name = prefix ? `${prefix}/${base}` : base;
  const kind: TarKind =
    typeflag === '0' || typeflag === '\0' || typeflag === '7' ? 'file' : typeflag === '5' ? 'directory' : typeflag === 'x' ? 'pax' : typeflag === 'g' ? 'pax-global' : typeflag === 'L' ? 'gnu-longname' : 'other';
  return { name, size, kind, typeflag };
}

/** The records of a pax extended header that matter here: path and size. */
export function parsePax(data: Buffer): { path?: string; size?: number } {
  const out: { path?: string; size?: number } = {};
  let i = 0;
  while (i < data.length) {
    const sp = data.indexOf(0x20, i);
    if (sp < 0) break;
    const len = Number(data.subarray(i, sp).toString('ascii'));
    if (!Number.isSafeInteger(len) || len <= 0) break;
    const rec = data.subarray(sp + 1, i + len - 1).toString('utf8');
    const eq = rec.indexOf('=');
    const key = rec.slice(0, eq);
    const value = rec.slice(eq + 1);
    if (key === 'path') out.path = value;
    if (key === 'size' && /^\d+$/.test(value)) out.size = Number(value);
    i += len;
  }
  return out;
}

export function paddedSize(size: number): number {
  return Math.ceil(size / BLOCK) * BLOCK;
}

const TAR_KIND_WORDS: Record<string, string> = { '1': 'a hard link', '2': 'a symbolic link', '3': 'a character device', '4': 'a block device', '6': 'a FIFO' };

/** A member may only be a regular file with a plain name (a "./" prefix is how tar writes the root). */
export function checkTarMember(h: TarHeader, source: string): string {
  if (h.kind !== 'file') {
    throw new UserError(`${source} holds ${shown(h.name)} as ${TAR_KIND_WORDS[h.typeflag] ?? `a tar entry of type "${shown(h.typeflag)}"`}; an OVA holds only plain files.`, REEXPORT);
  }
  const name = h.name.replace(/^\.\//, '');
  return checkPackageName(name, source, 'the member');
}

/** Refuses a member that ends past the end of the archive. */
export function checkMemberFits(name: string, dataOffset: number, size: number, archiveSize: number, source: string): void {
  if (dataOffset + size > archiveSize) {
    throw new UserError(`${source} is truncated: ${shown(name)} should have ${size} bytes but the archive ends ${Math.max(0, archiveSize - dataOffset)} bytes into it.`, REEXPORT);
  }
}

// ---------------------------------------------------------------- signature (.cert)

/**
 * A VMware / ovftool `.cert`: one `SHA256(NAME.mf)= HEX` line, the signature of the manifest made
 * with the signer's private key, then the signer's X.509 certificate in PEM. It signs the
 * manifest only; the manifest's digests then cover every other file.
 */
export interface OvaCert {
  algorithm: DigestAlgorithm;
  /** The file it signs: must be the package's manifest. */
  signs: string;
  signatureHex: string;
  pem: string;
}

export function parseCert(text: string, source: string): OvaCert {
  const refuse = (what: string) => new UserError(`${source} is not a signature file virtdeck can read: ${what}.`, REEXPORT);
  const line = text.split(/\r?\n/).find((l) => l.trim() !== '') ?? '';
  const m = /^(SHA1|SHA256|SHA512)\((.*)\)\s*=\s*([0-9a-fA-F]+)\s*$/i.exec(line.trim());
  if (!m) throw refuse(`its first line is not "SHA256(manifest.mf)= signature" but ${shown(line.slice(0, 60))}`);
  const pem = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(text)?.[0];
  if (!pem) throw refuse('it holds no certificate (-----BEGIN CERTIFICATE-----)');
  return { algorithm: (m[1] as string).toLowerCase() as DigestAlgorithm, signs: checkPackageName(m[2] as string, source, 'the file'), signatureHex: (m[3] as string).toLowerCase(), pem };
}

/** What the signature check found, for the review: who signed, and until when the certificate was valid. */
export interface OvaSignature {
  certName: string;
  subject: string;
  issuer: string;
  /** SHA-256 fingerprint of the certificate, colon-separated hex, to compare with the vendor's. */
  fingerprint: string;
  validTo: string;
  expired: boolean;
  selfSigned: boolean;
}

/** The review's sentence: the signature holds, and what virtdeck did not check (who issued the certificate). */
export function signatureWarning(s: OvaSignature): string {
  const who = s.selfSigned ? 'a self-signed certificate' : `a certificate issued by ${shown(s.issuer)}`;
  return (
    `${shown(s.certName)}: the manifest's signature matches ${who} for ${shown(s.subject)} (SHA-256 fingerprint ${s.fingerprint})${s.expired ? `, which expired ${s.validTo}` : ''}. ` +
    'virtdeck checks that the signature covers the manifest, not who the signer is: compare the fingerprint with the one the vendor publishes.'
  );
}

/** The refusal when the signature does not match the manifest. */
export function badSignature(certName: string, mfName: string): UserError {
  return new UserError(`${shown(certName)} does not sign ${shown(mfName)} as it is: the manifest was changed after the package was signed.`, REEXPORT);
}

/** A signature file that cannot vouch for this package: it signs no manifest, another file, or holds an unusable certificate. */
export function unusableSignature(certName: string, why: string): UserError {
  return new UserError(`${shown(certName)} cannot vouch for this package: ${why}.`, REEXPORT);
}

/** Which signature file, if any, goes with the manifest: the one named like the descriptor, else the only one. */
export function certFileFor(descriptorName: string, names: string[]): string | null {
  const certs = names.filter((n) => /\.cert$/i.test(n));
  const own = descriptorName.replace(/\.ovf$/i, '.cert');
  return certs.find((n) => n === own) ?? (certs.length === 1 ? (certs[0] as string) : null);
}
