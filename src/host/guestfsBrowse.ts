/**
 * Read-only browsing of disk images with ONE libguestfs appliance kept alive across calls.
 *
 * Why `guestfish --listen` + `--remote` rather than an interactive guestfish fed on stdin: every
 * call is then an ordinary short command run through the Executor (local or over SSH alike), with
 * its own stdout and exit code, so output needs no in-band markers and a call can be cancelled on
 * its own. Launching the appliance costs 15–20 s here; a remote call costs milliseconds.
 *
 * Two guestfish habits shape the code: the server keeps its stdin/stderr open (so it is started
 * through `sh` with stdin from /dev/null and stderr into a log file, or the launch never
 * returns), and the server exits on the first failed command. Every command is therefore sent
 * with guestfish's "-" prefix (errors do not stop the server) and the wrapper prints what the
 * command added to the server's log, which is how a failure is seen.
 *
 * Images are always added with --ro: libguestfs puts a throw-away overlay on top, so the image
 * (and, for a qcow2 with backing files, its whole chain) is never written.
 */
import { randomBytes } from 'node:crypto';
import { posix } from 'node:path';
import { gfArgvWordProblem } from '../model/guestfishWords.js';
import { shown } from '../model/shown.js';
import { HostError } from './errors.js';
import type { Executor } from './exec.js';
import { guestfsEnv } from './guestfsEnv.js';

export interface BrowseImage {
  path: string;
  format: string;
}

export interface FsInfo {
  /** Device inside the appliance: /dev/sda1, /dev/vg/root… (disks are sda, sdb… in the order given). */
  device: string;
  /** ext4, xfs, ntfs, vfat, swap, unknown… */
  type: string;
  label: string | null;
  sizeBytes: number | null;
  /** False for swap and unrecognised contents. */
  mountable: boolean;
}

export type FsEntryType = 'file' | 'dir' | 'symlink' | 'other';

export interface FsEntry {
  name: string;
  path: string;
  type: FsEntryType;
  sizeBytes: number;
  mode: number;
  mtime: Date;
  /** Where a symlink points. */
  target?: string;
}

const LAUNCH_TIMEOUT_MS = 300_000;
const CALL_TIMEOUT_MS = 120_000;
const S_IFMT = 0o170000;

/** Pure: `lstatnslist` output → one record per name (st_ino -1 marks a name that could not be read). */
export function parseStatList(text: string): Record<string, number>[] {
  const records: Record<string, number>[] = [];
  let cur: Record<string, number> | null = null;
  for (const line of text.split('\n')) {
    if (/^\[\d+\] = \{/.test(line)) {
      cur = {};
      records.push(cur);
      continue;
    }
    const m = /^\s*(st_\w+): (-?\d+)$/.exec(line);
    if (cur && m) cur[m[1] as string] = Number(m[2]);
  }
  return records;
}

export function entryType(mode: number): FsEntryType {
  switch (mode & S_IFMT) {
    case 0o040000:
      return 'dir';
    case 0o100000:
      return 'file';
    case 0o120000:
      return 'symlink';
    default:
      return 'other';
  }
}

/** Pure: `list-filesystems` output ("/dev/sda1: ext4") → device and type. */
export function parseFilesystems(text: string): { device: string; type: string }[] {
  return text
    .split('\n')
    .map((l) => /^(\S+): (\S+)$/.exec(l.trim()))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ device: m[1] as string, type: m[2] as string }));
}

/** guestfish parses string-list arguments itself; single quotes protect spaces, not quotes or backslashes. */
function listQuotable(name: string): boolean {
  return !/['\\\n]/.test(name);
}

const UNMOUNTABLE = new Set(['swap', 'unknown', '']);

export interface GuestfishSession {
  readonly pid: number;
  /** Runs one guestfish command in the session; its stdout. Failures become HostErrors. */
  call(args: string[], opts?: { signal?: AbortSignal; timeoutMs?: number }): Promise<string>;
  filesystems(): Promise<FsInfo[]>;
  /** The entries of a directory of a filesystem, directories first, then by name. */
  list(device: string, path: string): Promise<FsEntry[]>;
  /** Copies files or directories (recursively) out to a host directory; returns the host paths written. */
  extract(device: string, paths: string[], toDir: string, onNote?: (line: string) => void): Promise<string[]>;
  close(): Promise<void>;
}

/**
 * Makes a freshly extracted tree harmless, never following a symlink (find -P, chown -h): device
 * nodes, FIFOs and sockets are removed; setuid, setgid and sticky bits and group/other write are
 * cleared (before the chown, which would clear some silently); everything is owned by the running user; a file copied on its own gets 0600. Prints
 * "KIND<TAB>relative path" NUL-terminated for each change.
 */
const SANITIZE_SCRIPT = [
  's=$1',
  "find -P \"$s\" -mindepth 1 \\( -type b -o -type c -o -type p -o -type s \\) -printf 'dropped\\t%P\\0' -delete",
  "find -P \"$s\" -mindepth 1 ! -type l -perm /7000 -printf 'special\\t%P\\0' -exec chmod u-s,g-s,o-t -- {} +",
  "find -P \"$s\" -mindepth 1 ! -type l -perm /022 -printf 'writable\\t%P\\0' -exec chmod go-w -- {} +",
  'chown -R -P -h "$(id -u):$(id -g)" -- "$s"',
  'find -P "$s" -mindepth 1 -maxdepth 1 -type f -exec chmod 0600 -- {} +',
].join('\n');

/** Renames each entry of the staging directory $1 into $2; exit 3 (and the name) if one exists there now. */
const PLACE_SCRIPT = [
  's=$1; d=$2',
  'for f in "$s"/* "$s"/.[!.]* "$s"/..?*; do',
  '  [ -e "$f" ] || [ -L "$f" ] || continue',
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a shell parameter expansion ($(basename) would drop a trailing newline)
  '  b=${f##*/}',
  '  if [ -e "$d/$b" ] || [ -L "$d/$b" ]; then printf "%s\\n" "$d/$b"; exit 3; fi',
  '  mv -T -- "$f" "$d/$b" || exit 1',
  'done',
].join('\n');

const SANITIZE_WORDS: Record<string, string> = {
  dropped: 'not extracted (a device node, FIFO or socket)',
  special: 'setuid/setgid/sticky bit removed',
  writable: 'group/other write permission removed',
};

/** One line per change SANITIZE_SCRIPT made, guest names shown safely. */
export function parseSanitized(stdout: string): string[] {
  return stdout
    .split('\0')
    .filter(Boolean)
    .map((rec) => {
      const tab = rec.indexOf('\t');
      const kind = rec.slice(0, tab);
      return `${shown(rec.slice(tab + 1))}: ${SANITIZE_WORDS[kind] ?? kind}`;
    });
}

function checkGuestPath(path: string): string {
  if (!path.startsWith('/') || path.includes('\0') || path.includes('\n')) {
    throw new HostError({
      sentence: `"${path}" is not an absolute path inside the guest's filesystem.`,
      fix: 'Give a path starting with /, as listed by `virtdeck backup files`.',
      command: [],
      stderr: '',
      code: 'bad-path',
    });
  }
  return posix.normalize(path);
}

/**
 * Starts a read-only guestfish server on the images and launches its appliance. Every image is
 * opened --ro with an explicit format (never probed: a raw image could pass for anything).
 */
export async function openGuestfish(exec: Executor, images: BrowseImage[], signal?: AbortSignal): Promise<GuestfishSession> {
  if (images.length === 0) throw new Error('openGuestfish needs at least one image');
  const env = await guestfsEnv(exec, signal);
  const log = `/tmp/virtdeck-guestfish-${randomBytes(6).toString('hex')}.log`;
  const adds = images.flatMap((i) => [`--format=${i.format}`, '-a', i.path]);
  const started = await exec.run(['sh', '-c', 'exec guestfish --listen "$@" </dev/null 2>"$0"', log, '--ro', ...adds], {
    env,
    signal,
    timeoutMs: 60_000,
    okExitCodes: [1],
  });
  const pidMatch = /GUESTFISH_PID=(\d+)/.exec(started.stdout);
  if (!pidMatch) {
    // The reason is in the server's log (its stderr), not in what sh printed.
    const why = (await exec.run(['cat', '--', log], { okExitCodes: [1] }).catch(() => null))?.stdout.trim() ?? '';
    await exec.run(['rm', '-f', '--', log]).catch(() => undefined);
    throw new HostError({
      sentence: `guestfish could not open ${images.map((i) => i.path).join(', ')}${why ? `: ${why.split('\n')[0]}` : ''}.`,
      fix: 'Check that the image exists and is readable, and that libguestfs-tools is installed (virt-filesystems --help).',
      command: started.argv,
      stderr: why || started.stdout + started.stderr,
      code: 'guestfish-listen',
    });
  }
  const pid = Number(pidMatch[1]);
  let closed = false;
  // Calls go one at a time: the log-tail that detects an error must see only its own command.
  let queue: Promise<unknown> = Promise.resolve();
  // A virtdeck that exits without close() must not leave the appliance running (local host only).
  const killOnExit = () => {
    try {
      process.kill(pid);
    } catch {
      // already gone
    }
  };
  if (exec.label === 'local') process.once('exit', killOnExit);

  const rawCall = async (args: string[], opts: { signal?: AbortSignal; timeoutMs?: number } = {}): Promise<string> => {
    if (closed) throw new Error('guestfish session is closed');
    const [command, ...rest] = args;
    // Each argument is one argv word (no script parsing on the server), but a lone ":" would start another command.
    for (const a of rest) {
      const problem = gfArgvWordProblem(a);
      if (problem) {
        throw new HostError({
          sentence: `The name ${shown(JSON.stringify(a))} cannot be passed to guestfish: ${problem}.`,
          fix: 'Nothing was run; pick another file, or copy this one out with guestfish by hand.',
          command: [],
          stderr: '',
          code: 'bad-path',
        });
      }
    }
    // $0 = the server's log: what this command adds to it is printed on stderr, to see a failure.
    const script = 'n=$(stat -c %s "$0"); p=$1; shift; guestfish --remote="$p" -- "$@"; rc=$?; tail -c +$((n+1)) "$0" >&2; exit $rc';
    const r = await exec.run(['sh', '-c', script, log, String(pid), `-${command}`, ...rest], {
      signal: opts.signal ?? signal,
      timeoutMs: opts.timeoutMs ?? CALL_TIMEOUT_MS,
      okExitCodes: [1],
    });
    const failure = /libguestfs: error: .*|guestfish: .*|[^\n]*: No such file or directory/.exec(r.stderr);
    if (r.exitCode !== 0 || failure) {
      const gone = /server is not running/.test(r.stderr);
      throw new HostError({
        sentence: gone
          ? 'The libguestfs browse session has ended.'
          : `guestfish ${command} failed: ${(failure?.[0] ?? r.stderr.trim()).replace(/^libguestfs: error: /, '')}.`,
        fix: gone ? 'Open the backup again to start a new session.' : 'Check the path and the filesystem; the backup itself is opened read-only and was not changed.',
        command: ['guestfish', `--remote=${pid}`, ...args],
        stderr: r.stderr,
        code: gone ? 'guestfish-gone' : 'guestfish-command',
      });
    }
    return r.stdout;
  };
  const call: GuestfishSession['call'] = (args, opts) => {
    const next = queue.then(() => rawCall(args, opts));
    queue = next.catch(() => undefined);
    return next;
  };

  const close = async () => {
    if (closed) return;
    await call(['exit']).catch(() => undefined);
    closed = true;
    if (exec.label === 'local') process.removeListener('exit', killOnExit);
    await exec.run(['rm', '-f', log]).catch(() => undefined);
  };

  try {
    await call(['run'], { timeoutMs: LAUNCH_TIMEOUT_MS });
  } catch (e) {
    await close();
    throw e;
  }

  let fsCache: FsInfo[] | null = null;
  let mounted: string | null = null;

  const filesystems = async (): Promise<FsInfo[]> => {
    if (fsCache) return fsCache;
    const found = parseFilesystems(await call(['list-filesystems']));
    const out: FsInfo[] = [];
    for (const f of found) {
      const mountable = !UNMOUNTABLE.has(f.type);
      const size = f.device.startsWith('/dev/') ? Number((await call(['blockdev-getsize64', f.device]).catch(() => '')).trim()) : Number.NaN;
      const label = mountable ? (await call(['vfs-label', f.device]).catch(() => '')).trim() : '';
      out.push({ device: f.device, type: f.type, label: label || null, sizeBytes: Number.isFinite(size) && size > 0 ? size : null, mountable });
    }
    fsCache = out;
    return out;
  };

  const mount = async (device: string) => {
    if (mounted === device) return;
    const fs = (await filesystems()).find((f) => f.device === device);
    if (!fs) {
      throw new HostError({
        sentence: `There is no filesystem ${device} in this backup.`,
        fix: `Pick one of: ${(await filesystems()).map((f) => f.device).join(', ') || '(none found)'}.`,
        command: [],
        stderr: '',
        code: 'no-such-fs',
      });
    }
    if (!fs.mountable) {
      throw new HostError({ sentence: `${device} holds ${fs.type}, not a filesystem with files.`, fix: 'Pick another filesystem.', command: [], stderr: '', code: 'not-mountable' });
    }
    if (mounted) await call(['umount-all']);
    mounted = null;
    await call(['mount-ro', device, '/']);
    mounted = device;
  };

  const is = async (test: string, path: string) => (await call([test, path])).trim() === 'true';
  /** 'copyable': a regular file or a directory (copy-out takes nothing else; a symlink is refused before anything is copied). */
  const requireKind = async (path: string, want: 'dir' | 'copyable') => {
    const ok = want === 'dir' ? await is('is-dir', path) : (await is('is-file', path)) || (await is('is-dir', path));
    if (!ok) {
      const link = want === 'copyable' && (await is('is-symlink', path)) ? (await call(['readlink', path])).trim() : null;
      throw new HostError({
        sentence:
          want === 'dir'
            ? `${path} is not a directory in this filesystem.`
            : link !== null
              ? `${path} is a symbolic link to ${link}; nothing was extracted.`
              : `${path} is not a file or directory in this filesystem; nothing was extracted.`,
        fix: 'List the parent directory with `virtdeck backup files` to see what is there.',
        command: [],
        stderr: '',
        code: 'no-such-path',
      });
    }
  };

  const list = async (device: string, path: string): Promise<FsEntry[]> => {
    const dir = checkGuestPath(path);
    await mount(device);
    await requireKind(dir, 'dir');
    const names = (await call(['ls0', dir, '-'])).split('\0').filter((n) => n !== '');
    const stats = new Map<string, Record<string, number>>();
    const batchable = names.filter(listQuotable);
    for (let i = 0; i < batchable.length; i += 200) {
      const chunk = batchable.slice(i, i + 200);
      const recs = parseStatList(await call(['lstatnslist', dir, chunk.map((n) => `'${n}'`).join(' ')]));
      chunk.forEach((n, j) => {
        const rec = recs[j];
        if (rec) stats.set(n, rec);
      });
    }
    for (const n of names.filter((x) => !listQuotable(x))) {
      const rec = parseStatList(`[0] = {\n${await call(['lstatns', posix.join(dir, n)])}`)[0];
      if (rec) stats.set(n, rec);
    }
    const entries: FsEntry[] = names.map((name) => {
      const s = stats.get(name) ?? {};
      const mode = s.st_mode ?? 0;
      return {
        name,
        path: posix.join(dir, name),
        type: entryType(mode),
        sizeBytes: s.st_size ?? 0,
        mode: mode & 0o7777,
        mtime: new Date((s.st_mtime_sec ?? 0) * 1000),
      };
    });
    for (const e of entries.filter((x) => x.type === 'symlink')) {
      e.target = (await call(['readlink', e.path]).catch(() => '')).replace(/\n$/, '');
    }
    const rank = (t: FsEntryType) => (t === 'dir' ? 0 : 1);
    return entries.sort((a, b) => rank(a.type) - rank(b.type) || a.name.localeCompare(b.name));
  };

  const extract = async (device: string, paths: string[], toDir: string, onNote?: (line: string) => void): Promise<string[]> => {
    if (!toDir.startsWith('/')) {
      throw new HostError({ sentence: `The target directory ${toDir} is not an absolute path.`, fix: 'Give the full path on the host, e.g. --to /root/restored.', command: [], stderr: '', code: 'bad-path' });
    }
    const sources = paths.map(checkGuestPath);
    await mount(device);
    for (const p of sources) await requireKind(p, 'copyable');
    const targets = sources.map((p) => posix.join(toDir, posix.basename(p) || 'root'));
    await exec.run(['mkdir', '-p', '--', toDir], { signal });
    const clash = await exec.run(['sh', '-c', 'for f; do [ -e "$f" ] || [ -L "$f" ] && echo "$f"; done; true', 'sh', ...targets], { signal });
    const existing = clash.stdout.split('\n').filter(Boolean);
    if (existing.length > 0) {
      throw new HostError({
        sentence: `${existing.join(', ')} already exist${existing.length === 1 ? 's' : ''} on the host; nothing was extracted.`,
        fix: 'Extract into an empty directory (--to), or move those files away first.',
        command: [],
        stderr: '',
        code: 'target-exists',
      });
    }
    // copy-out unpacks a guest-made tar as root, keeping owner and mode: it goes into a private
    // staging directory on the target's filesystem, is made harmless there, then renamed into place.
    const stage = (await exec.run(['mktemp', '-d', '-p', toDir, '.virtdeck-extract-XXXXXX'], { signal })).stdout.trim();
    try {
      await call(['copy-out', ...sources, stage], { timeoutMs: 0 });
      const notes = parseSanitized((await exec.run(['sh', '-c', SANITIZE_SCRIPT, 'sh', stage], { signal, timeoutMs: 0 })).stdout);
      for (const n of notes) onNote?.(n);
      const moved = await exec.run(['sh', '-c', PLACE_SCRIPT, 'sh', stage, toDir], { signal, okExitCodes: [3] });
      if (moved.exitCode === 3) {
        throw new HostError({ sentence: `${moved.stdout.trim()} appeared on the host during the extraction; it was not replaced.`, fix: 'Extract into an empty directory (--to).', command: [], stderr: '', code: 'target-exists' });
      }
    } finally {
      await exec.run(['rm', '-rf', '--', stage]).catch(() => undefined);
    }
    return targets;
  };

  return { pid, call, filesystems, list, extract, close };
}
