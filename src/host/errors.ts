import { explainKnown } from '../model/knownErrors.js';

/**
 * Every failure virtdeck shows is one plain sentence, the fix, and what ran. The catalog of
 * known libvirt/qemu messages lives in KNOWN_ERRORS; unknown errors keep the command and stderr.
 */
export interface HostErrorInit {
  sentence: string;
  fix: string;
  command: string[];
  stderr: string;
  exitCode?: number;
  /** Stable id of the catalog entry that matched, or 'unknown'. */
  code?: string;
}

export class HostError extends Error {
  readonly sentence: string;
  readonly fix: string;
  readonly command: string[];
  readonly stderr: string;
  readonly exitCode: number;
  readonly code: string;
  constructor(init: HostErrorInit) {
    super(`${init.sentence} ${init.fix}`);
    this.name = 'HostError';
    this.sentence = init.sentence;
    this.fix = init.fix;
    this.command = init.command;
    this.stderr = init.stderr;
    this.exitCode = init.exitCode ?? -1;
    this.code = init.code ?? 'unknown';
  }
}

/** What the catalog knows besides the stderr: the command, and the guest it was about. */
export interface ErrorContext {
  command: string[];
  /** From `--domain NAME` in a virsh command, when there is one. */
  guest: string | null;
}

export interface KnownError {
  code: string;
  pattern: RegExp;
  /** Receives the regexp match so the sentence can name the guest, file or bridge involved. */
  sentence: (m: RegExpMatchArray, ctx: ErrorContext) => string;
  fix: (m: RegExpMatchArray, ctx: ErrorContext) => string;
}

/** The guest a sentence talks about: from the message when it names one, else from the command. */
function guestOf(ctx: ErrorContext, fromMessage?: string): string {
  const name = fromMessage ?? ctx.guest;
  return name ? `The guest ${name}` : 'The guest';
}

function hostOf(ctx: ErrorContext): string {
  const i = ctx.command.indexOf('-c');
  return i >= 0 && ctx.command[i + 1] ? ctx.command[i + 1] as string : 'the libvirt host';
}

const FAILED_DOMAIN = /Failed to \w+ domain '([^']+)'/;

/** A guest named in libvirt's "Failed to start domain 'X'" line, if the stderr has one. */
function namedGuest(m: RegExpMatchArray): string | undefined {
  return (m.input ?? '').match(FAILED_DOMAIN)?.[1];
}

/**
 * Ordered: the first match wins, so narrow messages come before the broad ones they contain
 * (a KVM or permission problem also says "Failed to start domain").
 */
export const KNOWN_ERRORS: KnownError[] = [
  {
    code: 'resume-running',
    pattern: /Failed to resume domain '([^']+)'[\s\S]*domain is already running/,
    sentence: (m) => `The guest ${m[1]} is already running, so there is nothing to resume.`,
    fix: () => 'Nothing to do; suspend it first if you meant to pause it.',
  },
  {
    code: 'already-running',
    pattern: /Domain is already active|domain is already (?:active|running)/i,
    sentence: (m, ctx) => `${guestOf(ctx, namedGuest(m))} is already running.`,
    fix: () => 'Nothing to do; use reboot to restart it, or shut it down first.',
  },
  {
    code: 'not-running',
    pattern: /Domain is not running|domain is not running|domain '([^']+)' not running/i,
    sentence: (m, ctx) => `${guestOf(ctx, m[1] ?? namedGuest(m))} is not running.`,
    fix: () => 'Start it first (or pick a running guest).',
  },
  {
    code: 'not-paused',
    pattern: /domain is not paused|domain '([^']+)' not paused/i,
    sentence: (m, ctx) => `${guestOf(ctx, m[1] ?? namedGuest(m))} is not paused, so there is nothing to resume.`,
    fix: () => 'Nothing to do; it is running or shut off already.',
  },
  {
    code: 'no-such-guest',
    pattern: /failed to get domain '([^']+)'|Domain not found: no domain with matching (?:name|uuid) '([^']+)'/i,
    sentence: (m) => `There is no guest called ${m[1] ?? m[2]} on this host.`,
    fix: () => 'Check the name (virsh list --all); it may have been removed or renamed meanwhile — refresh the list.',
  },
  {
    code: 'no-vnc',
    pattern: /Failed to get VNC port/i,
    sentence: (_m, ctx) => `${guestOf(ctx)} has no VNC display.`,
    fix: () => 'Add VNC graphics to it in the guest editor (port auto), or use the serial console instead.',
  },
  {
    code: 'undefine-nvram',
    pattern: /cannot (?:delete inactive|undefine) domain with nvram/i,
    sentence: (_m, ctx) => `${guestOf(ctx)} has UEFI variables (nvram), and libvirt will not remove it without saying what to do with them.`,
    fix: () => 'Remove it again with the option that deletes its nvram file too (virsh undefine --nvram), or keep it with --keep-nvram.',
  },
  {
    code: 'undefine-snapshots',
    pattern: /cannot delete inactive domain with (\d+) snapshots/i,
    sentence: (m, ctx) => `${guestOf(ctx)} still has ${m[1]} snapshot(s).`,
    fix: () => 'Delete its snapshots first (virsh snapshot-list, snapshot-delete), or undefine with --snapshots-metadata.',
  },
  {
    code: 'name-in-use',
    pattern: /domain '([^']+)' (?:already exists|is already defined) with uuid ([0-9a-f-]+)/i,
    sentence: (m) => `The name ${m[1]} is already used by another guest (uuid ${m[2]}).`,
    fix: () => 'Pick another name, or remove the existing guest first if it is the one being replaced.',
  },
  {
    code: 'write-lock',
    pattern: /Failed to get "write" lock(?:[\s\S]*?using the image \[([^\]]+)\])?|failed to get write lock/i,
    sentence: (m, ctx) => `${guestOf(ctx, namedGuest(m))} cannot start: its disk${m[1] ? ` ${m[1]}` : ''} is in use by another process.`,
    fix: (m) =>
      `Shut down the other guest using it (virsh list; or find the process with: fuser ${m[1] ?? 'IMAGE'}), or give this guest its own copy of the disk.`,
  },
  {
    code: 'kvm-unavailable',
    pattern: /Could not access KVM kernel module|failed to initialize kvm|Domain requires KVM|KVM is not available|\/dev\/kvm/i,
    sentence: (_m, ctx) => `${guestOf(ctx)} is set to use KVM acceleration, but KVM does not work on this host.`,
    fix: () =>
      "Enable virtualization (VT-x/AMD-V) in the firmware and load kvm_intel or kvm_amd; or change the guest's domain type to 'qemu' (software emulation, slow).",
  },
  {
    code: 'permission-denied',
    pattern: /'([^']+)'(?: \(as uid:(\d+), gid:(\d+)\))?: Permission denied|Permission denied(?! \(publickey)/,
    sentence: (m, ctx) =>
      m[1] ? `${guestOf(ctx, namedGuest(m))} cannot open ${m[1]}: permission denied${m[2] ? ` (QEMU runs as uid ${m[2]})` : ''}.` : 'Permission was denied.',
    fix: (m) =>
      `Make the file and every directory above it readable by the QEMU user (chown libvirt-qemu:kvm, chmod o+x on the directories${
        m[1] ? ` of ${m[1]}` : ''
      }), or move it to /var/lib/libvirt/images; if the path is fine, check AppArmor denials with: journalctl -k | grep apparmor.`,
  },
  {
    code: 'storage-missing',
    pattern: /Cannot access storage file '([^']+)'.*No such file or directory|Could not open '([^']+)': No such file or directory/,
    sentence: (m, ctx) => `${guestOf(ctx, namedGuest(m))} cannot start: its disk file ${m[1] ?? m[2]} does not exist.`,
    fix: () => 'Restore or create the file, or point the disk at the right path in the guest editor (or detach it).',
  },
  {
    code: 'network-missing',
    pattern: /Network not found: no network with matching name '([^']+)'|failed to get network '([^']+)'/,
    sentence: (m, ctx) => `${guestOf(ctx, namedGuest(m))} uses the libvirt network ${m[1] ?? m[2]}, which does not exist.`,
    fix: (m) => `Create and start that network (virsh net-define, net-start ${m[1] ?? m[2]}), or attach the NIC to a bridge that exists.`,
  },
  {
    code: 'network-inactive',
    pattern: /network '([^']+)' is not active/,
    sentence: (m, ctx) => `${guestOf(ctx, namedGuest(m))} uses the network ${m[1]}, which is not started.`,
    fix: (m) => `Start it: virsh net-start ${m[1]} (and net-autostart ${m[1]} so it comes up at boot).`,
  },
  {
    code: 'bridge-missing',
    pattern: /Cannot get interface MTU on '([^']+)'|Failed to add tap interface to bridge '([^']+)'|bridge '([^']+)' (?:not found|does not exist)/,
    sentence: (m, ctx) => `${guestOf(ctx, namedGuest(m))} is attached to the bridge ${m[1] ?? m[2] ?? m[3]}, which does not exist on this host.`,
    fix: () => 'Create the bridge (Host tab, or ip link add NAME type bridge), or attach the NIC to an existing bridge or network.',
  },
  {
    code: 'xml-invalid',
    pattern:
      /XML document failed to validate against schema[^\n]*\n?([^\n]*)|does not validate against schema|Extra element[^\n]*|XML error: ([^\n]+)|\(domain_definition\):(\d+): ([^\n]+)/,
    sentence: (m) => {
      const detail = m[1]?.trim() || m[2] || (m[3] ? `line ${m[3]}: ${m[4]}` : m[0]);
      return `The guest definition is not valid XML for libvirt: ${detail}.`;
    },
    fix: () => 'Correct that element in the XML (the editor shows the line), or undo the edit.',
  },
  {
    code: 'timed-out',
    pattern: /Timed out during operation: ([^\n]+)|operation timed out after (\d+) ms/i,
    sentence: (m, ctx) =>
      m[1] ? `libvirt timed out: ${m[1]}.` : `${ctx.command.slice(0, 2).join(' ') || 'The command'} did not finish within ${m[2]} ms.`,
    fix: () => 'The guest or libvirtd is busy or stuck; wait and try again, and check the guest in virsh list (destroy it if hung).',
  },
  {
    code: 'ssh-auth',
    pattern: /Permission denied \((publickey[^)]*)\)|Host key verification failed|authentication (?:failed|unavailable)[^\n]*/i,
    sentence: (_m, ctx) => `Logging in to ${hostOf(ctx)} failed.`,
    fix: () =>
      'Install your SSH key on that host (ssh-copy-id root@HOST) and check that plain `ssh root@HOST virsh list` works without a password prompt.',
  },
  {
    code: 'ssh-unreachable',
    pattern: /ssh: (?:connect to host (\S+) port \d+: ([^:\n]+)|Could not resolve hostname (\S+?):)/,
    sentence: (m) => `Could not reach ${m[1] ?? m[3]} over SSH${m[2] ? ` (${m[2].toLowerCase()})` : ''}.`,
    fix: () => 'Check the host name, that the machine is up and that sshd runs there.',
  },
  {
    code: 'libvirtd-down',
    pattern: /Failed to connect socket to '([^']+)'|unable to connect to server at '([^']+)'|Connection refused/,
    sentence: (m, ctx) => `libvirt is not answering at ${m[2] ?? m[1] ?? hostOf(ctx)}: libvirtd is not running.`,
    fix: () => 'Start it (as root: systemctl start libvirtd, or bash scripts/setup-host.sh, which installs and starts everything).',
  },
  {
    code: 'no-space',
    pattern: /(?:'([^']+)'|(\/[^\s:]+)): [^\n]*No space left on device|No space left on device/,
    sentence: (m) => `The disk holding ${m[1] ?? m[2] ?? 'the target'} is full.`,
    fix: () => 'Free space there (old backups, unused images: df -h shows what is full) or choose a destination with room.',
  },
  {
    code: 'invalid-operation',
    pattern: /Requested operation is not valid: ([^\n]+)/,
    sentence: (m, ctx) => `libvirt refused the action on ${ctx.guest ?? 'the guest'}: ${m[1]}.`,
    fix: () => 'Check the guest state (refresh the list) and try the action that fits it.',
  },
];

/** Turns a failed command's stderr into a HostError, using the catalog when a pattern matches. */
export function explain(command: string[], stderr: string, exitCode: number): HostError {
  const text = stderr.trim();
  const ctx: ErrorContext = { command, guest: guestInCommand(command) };
  for (const k of KNOWN_ERRORS) {
    const m = text.match(k.pattern);
    if (m) return new HostError({ sentence: k.sentence(m, ctx), fix: k.fix(m, ctx), command, stderr: text, exitCode, code: k.code });
  }
  // The asset catalog (assets/known-errors.json) knows many more messages, without command context.
  const known = explainKnown(text);
  if (known) return new HostError({ sentence: known.sentence, fix: known.fix, command, stderr: text, exitCode, code: known.id });
  const first = text.split('\n').find((l) => l.trim()) ?? `exit code ${exitCode}`;
  return new HostError({
    sentence: `${command[0] ?? 'The command'} failed: ${first.replace(/^error:\s*/i, '')}`,
    fix: 'Read the command and its output below; run it by hand to see more.',
    command,
    stderr: text,
    exitCode,
    code: 'unknown',
  });
}

function guestInCommand(command: string[]): string | null {
  const i = command.indexOf('--domain');
  return i >= 0 ? (command[i + 1] ?? null) : null;
}

/** For anything thrown: a HostError as is, other errors wrapped so the UI never shows a stack. */
export function toHostError(e: unknown, command: string[] = []): HostError {
  if (e instanceof HostError) return e;
  const msg = e instanceof Error ? e.message : String(e);
  return new HostError({ sentence: msg, fix: 'See the details; this is probably a bug in virtdeck.', command, stderr: '' });
}
