/**
 * The host's half of copying one ESXi data file: the file is opened and read ONCE, and that read
 * feeds both the ssh stream and the host's sha256. A 200 GB -flat.vmdk read a second time for its
 * checksum would double the datastore's work and, on a fast link, the copy's time. The digest
 * comes after the stream, on stderr, as one MARKER line. POSIX sh as ESXi's busybox ash and
 * Debian's dash run it; the path comes in as $1, never into the text.
 *
 * Where the host has Python (ESXi does, as `python`), it reads the file in 1 MiB blocks, writes
 * them out and hashes them (hashlib: OpenSSL's sha256) in one process. Otherwise tee feeds a FIFO
 * that openssl (else sha256sum) reads: busybox's tee moves 1 KiB per system call and coreutils'
 * 8 KiB, so that costs the host several times the CPU. The FIFO lives in a private `mktemp -d`
 * directory that goes on every exit, a dropped link included (tee dies of SIGPIPE, the hasher
 * sees EOF, the shell exits). Pure.
 */

export const DIGEST_MARKER = 'virtdeck-sha256';

/**
 * Python 2.7 or 3 (ESXi 6.5 and later ship 3 as `python`): fd 3 in 1 MiB reads to fd 1, hashed on
 * the way. Python ignores SIGPIPE, so a dropped link is an exception and exit 1, without the digest.
 */
const PY_COPY = [
  'import hashlib, os, sys',
  // A 1 MiB pipe to sshd (Linux's F_SETPIPE_SZ; elsewhere the call fails and the pipe stays as it
  // is): a block goes into it in one write, and python reads and hashes the next one while sshd
  // sends it. With the 64 KiB default each block crossed in sixteen turns of python and sshd
  // waking each other: on the stand-in python, sshd and ssh took about a fifth more CPU.
  'try:',
  '    import fcntl',
  '    fcntl.fcntl(1, 1031, 1048576)',
  'except Exception:',
  '    pass',
  'h = hashlib.sha256()',
  'while True:',
  '    b = os.read(3, 1048576)',
  '    if not b:',
  '        break',
  '    h.update(b)',
  '    n = os.write(1, b)',
  '    while n < len(b):',
  '        n += os.write(1, b[n:])',
  `sys.stderr.write("${DIGEST_MARKER} " + h.hexdigest() + "\\n")`,
].join('\n');

export const STREAM_SCRIPT = [
  // The one open of the file; a file that is not there ends the script here (exit 2, sh's message).
  'exec 3<"$1"',
  'for py in python3 python; do',
  // The code has no single quote, so it is one word here; the path is still only $1 (read as fd 3).
  `  if command -v "$py" >/dev/null 2>&1; then exec "$py" -c '${PY_COPY}'; fi`,
  'done',
  'if command -v openssl >/dev/null 2>&1; then h=openssl',
  'elif command -v sha256sum >/dev/null 2>&1; then h=sha256sum',
  `else echo '${DIGEST_MARKER} none' >&2; exec cat <&3`,
  'fi',
  // openssl hashes several times faster than busybox's or coreutils' sha256sum (ESXi has it in /bin).
  'sum() { if [ "$h" = openssl ]; then openssl dgst -sha256 -r; else sha256sum; fi; }',
  'd=',
  `trap '[ -z "$d" ] || rm -rf "$d"' EXIT`,
  // A trapped signal ends the shell through exit, so the EXIT trap still removes the directory.
  "trap 'exit 129' HUP",
  "trap 'exit 130' INT",
  "trap 'exit 141' PIPE",
  "trap 'exit 143' TERM",
  'if d=$(mktemp -d 2>/dev/null) && mkfifo "$d/p" 2>/dev/null; then',
  '  tee "$d/p" <&3 &',
  '  t=$!',
  '  x=$(sum <"$d/p")',
  '  wait "$t" || exit',
  'else',
  // No mkfifo or mktemp on this host: the digest needs a second read, after the stream.
  '  cat <&3 || exit',
  '  x=$(sum <"$1") || exit',
  'fi',
  'exec 3<&-',
  // The hex before openssl's " *stdin" or sha256sum's "  -".
  `printf '${DIGEST_MARKER} %s\\n' "\${x%% *}" >&2`,
].join('\n');

/** What the host said about its sha256: the hex, that it has no hasher, or nothing (cut off). */
export type RemoteDigest = { kind: 'sha256'; hex: string } | { kind: 'none' } | { kind: 'missing' };

/** The last MARKER line of the script's stderr; anything malformed counts as missing. */
export function parseRemoteDigest(stderr: string): RemoteDigest {
  const lines = stderr.split('\n').filter((l) => l.startsWith(`${DIGEST_MARKER} `));
  const last = lines.at(-1)?.slice(DIGEST_MARKER.length + 1).trim();
  if (last === undefined) return { kind: 'missing' };
  if (last === 'none') return { kind: 'none' };
  if (/^[0-9a-f]{64}$/.test(last)) return { kind: 'sha256', hex: last };
  return { kind: 'missing' };
}

/** Stderr without the marker lines: what is left is the host's own words, if any. */
export function withoutDigest(stderr: string): string {
  return stderr
    .split('\n')
    .filter((l) => !l.startsWith(`${DIGEST_MARKER} `))
    .join('\n');
}
