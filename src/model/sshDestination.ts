/**
 * Who and where virtdeck logs in with ssh. A host or user name comes from text someone typed or
 * pasted (a --from-ssh source, a --connect URI, $LIBVIRT_DEFAULT_URI, the console's host field), and
 * ssh reads a word that starts with `-` as an option: `-oProxyCommand=…` runs a command as root
 * before any login. Every ssh argv also puts `--` before the destination, but a name that could be
 * an option, or that carries shell metacharacters into a `%h`/`%r` of the admin's own ssh_config
 * (ProxyCommand, Match exec: CVE-2023-51385), is refused here first. Pure.
 */
import { shown } from './shown.js';
import { UserError } from './userError.js';

/** DNS names and IPv4 (letters, digits, dot, dash, underscore), starting with a letter, digit or underscore. */
const HOST_NAME = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,252}$/;
/** An IPv6 literal, as ssh takes it (no brackets). */
const HOST_IPV6 = /^[0-9A-Fa-f:.]+$/;
/** POSIX portable user names (plus Samba's machine-account `$` at the end). */
const USER_NAME = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,31}\$?$/;

/** Why `host` cannot be an ssh host name, or null. */
export function sshHostProblem(host: string, where: string): UserError | null {
  if (host.startsWith('-')) {
    return new UserError(`The host "${shown(host)}" in ${where} begins with "-", so ssh would read it as an option.`, 'Give the host name or address itself, e.g. root@host1 or root@10.0.0.5.');
  }
  if (HOST_NAME.test(host) || (host.includes(':') && HOST_IPV6.test(host))) return null;
  return new UserError(`The host "${shown(host)}" in ${where} is not a host name or address.`, 'Use letters, digits, dots and dashes (a DNS name or an IP address).');
}

/** Why `user` cannot be an ssh login name, or null. */
export function sshUserProblem(user: string, where: string): UserError | null {
  if (user.startsWith('-')) {
    return new UserError(`The user "${shown(user)}" in ${where} begins with "-", so ssh would read it as an option.`, 'Give the login name itself, e.g. root.');
  }
  if (USER_NAME.test(user)) return null;
  return new UserError(`The user "${shown(user)}" in ${where} is not a login name.`, 'Use letters, digits, dots, dashes and underscores, e.g. root.');
}

/** Checks `user@host` or `host` (an ssh destination); throws the UserError naming what is wrong. */
export function checkSshDestination(destination: string, where = 'the ssh destination'): { user: string | null; host: string } {
  const at = destination.lastIndexOf('@');
  const user = at >= 0 ? destination.slice(0, at) : null;
  const host = at >= 0 ? destination.slice(at + 1) : destination;
  const problem = (user !== null ? sshUserProblem(user, where) : null) ?? sshHostProblem(host, where);
  if (problem) throw problem;
  return { user, host };
}
