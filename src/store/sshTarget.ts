import { parseLibvirtUri } from '../config/connect.js';
import { shellQuote } from '../model/shellQuote.js';

/** `qemu+ssh://root@host1/system` → root@host1; a local URI → root@<hostname>: where the VNC tunnel command points. */
export function sshTargetFor(uri: string, hostname: string): string {
  const m = uri.match(/^[a-z0-9+]+:\/\/([^/?]+)/i);
  const authority = m?.[1] ?? '';
  if (authority) return authority.includes('@') ? authority.replace(/:\d+$/, '') : `root@${authority.replace(/:\d+$/, '')}`;
  return `root@${hostname}`;
}

/**
 * The tunnel the admin types on the desktop: the host's ssh port and key from the URI
 * (qemu+ssh://root@host1:2222/system?keyfile=…) travel with it, or the command reaches port 22
 * with the default key and fails where virtdeck's own ssh works.
 */
export function vncTunnelCommand(uri: string, hostname: string, port: number, remote: string): string {
  let extra: string[] = [];
  try {
    const p = parseLibvirtUri(uri);
    if (p.host !== null) extra = [...(p.port ? ['-p', String(p.port)] : []), ...(p.keyfile ? ['-i', p.keyfile] : [])];
  } catch {
    // A URI the connection already accepted; nothing to add if it does not parse here.
  }
  return ['ssh', '-L', `${port}:${remote}:${port}`, ...extra, sshTargetFor(uri, hostname)].map(shellQuote).join(' ');
}
