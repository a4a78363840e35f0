/** `qemu+ssh://root@host1/system` → root@host1; a local URI → root@<hostname>: where the VNC tunnel command points. */
export function sshTargetFor(uri: string, hostname: string): string {
  const m = uri.match(/^[a-z0-9+]+:\/\/([^/?]+)/i);
  const authority = m?.[1] ?? '';
  if (authority) return authority.includes('@') ? authority.replace(/:\d+$/, '') : `root@${authority.replace(/:\d+$/, '')}`;
  return `root@${hostname}`;
}
