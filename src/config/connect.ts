import { hostname } from 'node:os';
import { LocalExecutor, SshExecutor, type SshTarget } from '../host/exec.js';
import type { HostContext } from '../host/hostContext.js';
import { UserError } from '../model/userError.js';

export const DEFAULT_URI = 'qemu:///system';

/** --connect wins, then LIBVIRT_DEFAULT_URI (as virsh itself does), then the system instance. */
export function resolveUri(flag?: string, env: NodeJS.ProcessEnv = process.env): string {
  return flag?.trim() || env.LIBVIRT_DEFAULT_URI?.trim() || DEFAULT_URI;
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

/** Pure: splits a libvirt URI into what virtdeck needs to reach the host's files. */
export function parseLibvirtUri(uri: string): ParsedUri {
  let u: URL;
  try {
    u = new URL(uri);
  } catch {
    throw new UserError(
      `"${uri}" is not a libvirt connection URI.`,
      'Use qemu:///system for this machine or qemu+ssh://root@HOST/system for another one.',
    );
  }
  const [driver = '', transport = null] = u.protocol.replace(/:$/, '').split('+');
  const host = u.hostname.replace(/^\[(.*)\]$/, '$1') || null;
  return {
    driver,
    transport,
    host,
    user: u.username ? decodeURIComponent(u.username) : null,
    port: u.port ? Number(u.port) : null,
    keyfile: u.searchParams.get('keyfile'),
  };
}

const SSH_TRANSPORTS = new Set(['ssh', 'libssh', 'libssh2']);

export interface HostOptions {
  uri?: string;
  /** Header name; defaults to the host part of the URI or this machine's hostname. */
  name?: string;
  /** From the config file: overrides what the URI implies (e.g. a different port or key). */
  ssh?: SshTarget;
}

/**
 * virsh always runs here (libvirt does its own remoting); programs that touch the host's files
 * run there, so a remote URI needs an SSH route to the same machine.
 */
export function createHostContext(opts: HostOptions = {}): HostContext {
  const uri = resolveUri(opts.uri);
  const p = parseLibvirtUri(uri);
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
    const noVerify = new URL(uri).searchParams.get('no_verify') === '1';
    target = {
      destination: p.user ? `${p.user}@${p.host}` : p.host!,
      ...(p.port ? { port: p.port } : {}),
      ...(p.keyfile ? { identityFile: p.keyfile } : {}),
      ...(noVerify ? { options: ['StrictHostKeyChecking=no', 'UserKnownHostsFile=/dev/null'] } : {}),
    };
  }
  return { name: opts.name ?? p.host!, uri, virshExec: local, sysExec: new SshExecutor(target) };
}
