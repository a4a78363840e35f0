import { hostname } from 'node:os';
import { LocalExecutor, SshExecutor, type SshTarget } from '../host/exec.js';
import type { HostContext } from '../host/hostContext.js';
import { hasControlCharacters, shown } from '../model/shown.js';
import { sshHostProblem, sshUserProblem } from '../model/sshDestination.js';
import { UserError } from '../model/userError.js';

export const DEFAULT_URI = 'qemu:///system';

/** --connect wins, then LIBVIRT_DEFAULT_URI (as virsh itself does), then the system instance. */
export function resolveUri(flag?: string, env: NodeJS.ProcessEnv = process.env): string {
  return flag?.trim() || env.LIBVIRT_DEFAULT_URI?.trim() || DEFAULT_URI;
}

/** Where a URI came from, for the sentence that refuses it. */
export function uriOrigin(flag?: string, env: NodeJS.ProcessEnv = process.env): string {
  if (flag?.trim()) return '--connect';
  if (env.LIBVIRT_DEFAULT_URI?.trim()) return '$LIBVIRT_DEFAULT_URI';
  return 'the default URI';
}

export interface ParsedUri {
  driver: string; // qemu, test, …
  transport: string | null; // ssh, libssh, tcp, tls, unix or null
  /** Remote host name, or null for this machine. */
  host: string | null;
  user: string | null;
  port: number | null;
  keyfile: string | null;
}

/**
 * A URI's query parameters as libvirt reads them: split on `&` and on `;` (libvirt's own parser
 * takes both, WHATWG's URLSearchParams only `&`, so `?no_verify=1;command=/x` would hide a
 * command from it), names compared without case as libvirt does.
 */
export function uriParams(u: URL): { name: string; value: string }[] {
  const decode = (s: string) => {
    try {
      return decodeURIComponent(s.replace(/\+/g, ' '));
    } catch {
      return s;
    }
  };
  return u.search
    .replace(/^\?/, '')
    .split(/[&;]/)
    .filter(Boolean)
    .map((pair) => {
      const eq = pair.indexOf('=');
      return { name: decode(eq < 0 ? pair : pair.slice(0, eq)).toLowerCase(), value: decode(eq < 0 ? '' : pair.slice(eq + 1)) };
    });
}

/**
 * The parameters a URI from outside the config file may carry: each only turns a behaviour on or
 * off. Everything else libvirt knows names a program (command, netcat), a file (keyfile,
 * known_hosts, pkipath), a socket (socket) or a trust decision (known_hosts_verify, sshauth,
 * tls_priority) that libvirt or virtdeck's own ssh then uses as root; those belong in a config
 * file host entry, which only root writes.
 */
const OUTSIDE_PARAMS: Record<string, RegExp> = {
  no_verify: /^[01]$/,
  no_tty: /^[01]$/,
  mode: /^(auto|legacy|direct)$/,
  proxy: /^(auto|netcat|native)$/,
};

const BAD_URI_FIX = 'Use qemu:///system for this machine or qemu+ssh://root@HOST/system for another one.';

function parseUrl(uri: string, where: string): URL {
  // WHATWG's parser drops tabs and newlines silently; libvirt would not.
  if (hasControlCharacters(uri)) throw new UserError(`The URI "${shown(uri)}" from ${where} holds control characters.`, BAD_URI_FIX);
  try {
    return new URL(uri);
  } catch {
    throw new UserError(`"${shown(uri)}" is not a libvirt connection URI.`, BAD_URI_FIX);
  }
}

/**
 * Pure: splits a libvirt URI into what virtdeck needs to reach the host's files. A host or user
 * that ssh could read as an option (or that is not a host or login name at all) is refused,
 * wherever the URI came from.
 */
export function parseLibvirtUri(uri: string, where = 'the connection URI'): ParsedUri {
  const u = parseUrl(uri, where);
  const [driver = '', transport = null] = u.protocol.replace(/:$/, '').split('+');
  const host = u.hostname.replace(/^\[(.*)\]$/, '$1') || null;
  let user: string | null = null;
  try {
    user = u.username ? decodeURIComponent(u.username) : null;
  } catch {
    user = u.username;
  }
  const inUri = `the URI ${shown(uri)} (${where})`;
  const problem = (user !== null ? sshUserProblem(user, inUri) : null) ?? (host !== null ? sshHostProblem(host, inUri) : null);
  if (problem) throw problem;
  const keyfile = uriParams(u).find((p) => p.name === 'keyfile')?.value ?? null;
  return { driver, transport, host, user, port: u.port ? Number(u.port) : null, keyfile };
}

/** Pure: refuses what only the config file may put in a URI (see OUTSIDE_PARAMS); `where` names where it came from. */
export function checkOutsideUri(uri: string, where: string): void {
  const u = parseUrl(uri, where);
  const inUri = `the URI ${shown(uri)} (${where})`;
  if (u.protocol.replace(/:$/, '').split('+')[1] === 'ext') {
    throw new UserError(`The URI ${shown(uri)} (${where}) uses the ext transport, which runs a program named in the URI.`, 'Use qemu+ssh://, or add the host to the config file.');
  }
  for (const p of uriParams(u)) {
    const allowed = OUTSIDE_PARAMS[p.name];
    if (allowed?.test(p.value)) continue;
    throw new UserError(
      allowed
        ? `The URI parameter ${p.name}=${shown(p.value)} in ${inUri} is not a value libvirt accepts.`
        : `The URI parameter "${shown(p.name)}" in ${inUri} names a program, file or socket, and is taken only from the config file.`,
      allowed
        ? `Leave it out, or give ${p.name} one of the values libvirt documents.`
        : `Add the host to the config file's "hosts" (name, uri) and connect with its name, or leave ${shown(p.name)} out.`,
    );
  }
}

const SSH_TRANSPORTS = new Set(['ssh', 'libssh', 'libssh2']);

export interface HostOptions {
  uri?: string;
  /** Header name; defaults to the host part of the URI or this machine's hostname. */
  name?: string;
  /** From the config file: overrides what the URI implies (e.g. a different port or key). */
  ssh?: SshTarget;
  /**
   * The URI was written in the config file (root's own): it may name a key file, a command or a
   * socket. Anything else (--connect, $LIBVIRT_DEFAULT_URI, the console's host field) may not.
   */
  fromConfig?: boolean;
  /** Where the URI came from, for a refusal's sentence (default: --connect or $LIBVIRT_DEFAULT_URI). */
  where?: string;
}

/**
 * virsh always runs here (libvirt does its own remoting); programs that touch the host's files
 * run there, so a remote URI needs an SSH route to the same machine.
 */
export function createHostContext(opts: HostOptions = {}): HostContext {
  const uri = resolveUri(opts.uri);
  const where = opts.fromConfig ? 'the config file' : (opts.where ?? uriOrigin(opts.uri));
  const p = parseLibvirtUri(uri, where);
  if (!opts.fromConfig) checkOutsideUri(uri, where);
  const local = new LocalExecutor();
  // Any host part means remote, localhost included: qemu+ssh://root@localhost/system is how one
  // exercises the SSH path on one machine.
  if (p.host === null) return { name: opts.name ?? hostname(), uri, virshExec: local, sysExec: local };

  let target = opts.ssh;
  if (!target) {
    if (!p.transport || !SSH_TRANSPORTS.has(p.transport)) {
      throw new UserError(
        `virtdeck reaches the disks and files of ${p.host} over SSH, but ${uri} does not use SSH.`,
        `Connect with qemu+ssh://root@${p.host}/system, or add an ssh entry for this host to the config file.`,
      );
    }
    // libvirt's no_verify=1 skips the host key check; virtdeck's own ssh does the same (and,
    // not verifying, records nothing in known_hosts).
    const noVerify = uriParams(new URL(uri)).some((q) => q.name === 'no_verify' && q.value === '1');
    target = {
      destination: p.user ? `${p.user}@${p.host}` : p.host!,
      ...(p.port ? { port: p.port } : {}),
      ...(p.keyfile ? { identityFile: p.keyfile } : {}),
      ...(noVerify ? { options: ['StrictHostKeyChecking=no', 'UserKnownHostsFile=/dev/null'] } : {}),
    };
  }
  return { name: opts.name ?? p.host!, uri, virshExec: local, sysExec: new SshExecutor(target) };
}
