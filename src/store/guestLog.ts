import type { HostContext } from '../host/hostContext.js';

/** libvirt's per-guest QEMU log: system daemons log under /var/log, session ones under ~/.cache. */
export function guestLogPath(uri: string, name: string, home = process.env.HOME ?? '/root'): string {
  return /\/session\b/.test(uri) ? `${home}/.cache/libvirt/qemu/log/${name}.log` : `/var/log/libvirt/qemu/${name}.log`;
}

/** The last lines of the log, read where the guest runs (sysExec is ssh for a remote host). */
export async function readGuestLog(host: HostContext, name: string, count: number): Promise<{ path: string; lines: string[] }> {
  const path = guestLogPath(host.uri, name);
  const r = await host.sysExec.run(['tail', '-n', String(count), path]);
  const lines = r.stdout.replace(/\n$/, '').split('\n');
  return { path, lines: lines.length === 1 && lines[0] === '' ? [] : lines };
}
