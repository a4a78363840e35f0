/**
 * Why ssh did not log in to a P2V source, in ssh's own words plus the fix for that one cause. An
 * unknown host key, a refused key and a closed port all end in exit 255; "could not log in" alone
 * leaves the admin guessing which. A live system makes a new host key at every boot, so "changed"
 * is as common as "unknown" here. Pure.
 */
import { shellQuote } from './shellQuote.js';

export interface SshLoginTarget {
  /** user@host */
  destination: string;
  port?: number;
  identityFile?: string;
  /** The argv's extra options, e.g. ['-o', 'UserKnownHostsFile=/root/p2v_hosts']. */
  sshOptions?: string[];
}

export interface SshFailure {
  sentence: string;
  fix: string;
  /** unknown-host-key, changed-host-key, key-refused, connection-refused, unreachable, unresolved, ssh */
  code: string;
}

/** ssh's lines without the noise: CRs, the "Permanently added" note, the @@@ banner. */
function sshLines(stderr: string): string[] {
  return stderr
    .replace(/\r/g, '')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !/^Warning: Permanently added/.test(l) && !/^@+$/.test(l));
}

/** The value of `-o Key=value` (or `-oKey=value`, `Key value`) among the options, last one wins. */
function optionValue(options: string[], key: string): string | null {
  let found: string | null = null;
  for (let i = 0; i < options.length; i++) {
    const o = options[i] as string;
    const text = o === '-o' ? (options[++i] ?? '') : o.startsWith('-o') ? o.slice(2) : '';
    const m = text.match(/^\s*(\w+)\s*(?:=|\s)\s*(.*)$/);
    if (m && (m[1] as string).toLowerCase() === key.toLowerCase()) found = (m[2] as string).trim().split(/\s+/)[0] ?? null;
  }
  return found;
}

export function sshFailure(stderr: string, target: SshLoginTarget): SshFailure {
  const lines = sshLines(stderr);
  const at = target.destination.lastIndexOf('@');
  const host = target.destination.slice(at + 1);
  const port = target.port ?? 22;
  const portArg = port === 22 ? '' : `-p ${port} `;
  const knownHosts = optionValue(target.sshOptions ?? [], 'UserKnownHostsFile') ?? '~/.ssh/known_hosts';
  const hostsFile = knownHosts === '~/.ssh/known_hosts' ? knownHosts : shellQuote(knownHosts);
  const keyName = port === 22 ? host : `[${host}]:${port}`;
  // The source's sshd can put a banner on this stream: one line, cut short, is all that is quoted.
  const said = (line: string) => `ssh said: "${line.length > 200 ? `${line.slice(0, 199)}…` : line}"`;
  const pick = (re: RegExp) => lines.find((l) => re.test(l));
  const who = `${target.destination}${port === 22 ? '' : ` (port ${port})`}`;
  const scan = `ssh-keyscan ${portArg}${host} >> ${hostsFile}`;
  const fingerprint = `compare \`ssh-keyscan ${portArg}${host} | ssh-keygen -lf -\` with \`ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub\` run on the source's console`;

  const changed = pick(/REMOTE HOST IDENTIFICATION HAS CHANGED|Host key for .* has changed/);
  if (changed) {
    const line = pick(/Host key for .* has changed/) ?? changed;
    return {
      code: 'changed-host-key',
      sentence: `The host key of ${who} is not the one this machine recorded for it (${said(line)}); a live system makes a new key at each boot.`,
      fix: `Check the fingerprint (${fingerprint}); if it matches, forget the old key with ssh-keygen${knownHosts === '~/.ssh/known_hosts' ? '' : ` -f ${hostsFile}`} -R ${shellQuote(keyName)}, then record the new one: ${scan}`,
    };
  }
  const unknown = pick(/Host key verification failed|No \S+ host key is known/);
  if (unknown) {
    return {
      code: 'unknown-host-key',
      sentence: `ssh refused to log in to ${who}: this machine does not know its host key (${said(unknown)}).`,
      fix: `Check the fingerprint (${fingerprint}), then record it: ${scan}`,
    };
  }
  const denied = pick(/Permission denied \(/);
  if (denied) {
    const key = target.identityFile ? `-i ${shellQuote(target.identityFile)} ` : '';
    return {
      code: 'key-refused',
      sentence: `${who} refused the login (${said(denied)}).`,
      fix: `Install your public key for root there (ssh-copy-id ${portArg}${key}${target.destination}, or paste it into /root/.ssh/authorized_keys on the live system) and allow root logins with a key (PermitRootLogin prohibit-password), or give the key file it accepts.`,
    };
  }
  const refused = pick(/connect to host \S+ port \d+: Connection refused/);
  if (refused) {
    return {
      code: 'connection-refused',
      sentence: `Nothing accepts ssh connections on port ${port} of ${host} (${said(refused)}).`,
      fix: "Start sshd on the source (on a Debian live system: apt install openssh-server, then systemctl start ssh), or give the port sshd listens on there.",
    };
  }
  const unresolved = pick(/Could not resolve hostname/);
  if (unresolved) {
    return { code: 'unresolved', sentence: `ssh does not know the host ${host} (${said(unresolved)}).`, fix: 'Check the spelling, or give its IP address (ip -4 addr on the source shows it).' };
  }
  const unreachable = pick(/connect to host \S+ port \d+:|Connection timed out|No route to host|Network is unreachable/);
  if (unreachable) {
    return { code: 'unreachable', sentence: `${host} cannot be reached on port ${port} (${said(unreachable)}).`, fix: `Check the address, that the source is up and on the network, and that no firewall drops port ${port}.` };
  }
  const last = lines.at(-1);
  return {
    code: 'ssh',
    sentence: last ? `ssh could not log in to ${who} (${said(last)}).` : `ssh could not log in to ${who} and said nothing.`,
    fix: `Run ssh ${portArg}${target.destination} true by hand to see why; root must be able to log in with a key, without a password prompt.`,
  };
}

/** The target of an argv made by sshBase (`ssh [opts] -- DEST COMMAND`), for a step read back from a journal. */
export function sshTargetOf(argv: string[]): SshLoginTarget {
  const dashes = argv.indexOf('--');
  const opts = argv.slice(1, dashes < 0 ? argv.length : dashes);
  const target: SshLoginTarget = { destination: dashes < 0 ? '' : (argv[dashes + 1] ?? ''), sshOptions: [] };
  for (let i = 0; i < opts.length; i++) {
    const o = opts[i];
    const v = opts[i + 1];
    if (o === '-p' && v !== undefined) target.port = Number(v);
    else if (o === '-i' && v !== undefined) target.identityFile = v;
    else if (o === '-o' && v !== undefined) target.sshOptions?.push('-o', v);
    else continue;
    i++;
  }
  return target;
}
