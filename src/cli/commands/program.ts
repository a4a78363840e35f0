import { Command, CommanderError, Option } from 'commander';
import { createHostContext, type HostOptions } from '../../config/connect.js';
import { type ConfigHosts, configHosts } from '../../config/resolveHost.js';
import type { HostContext } from '../../host/hostContext.js';
import { UserError } from '../../model/userError.js';
import { EXIT, EXIT_CODES_HELP, type ExitCode, type Output, reportError } from '../output.js';
import type { RegisterCommands } from './groups.js';
import {
  autostartCommand,
  destroyCommand,
  editCommand,
  type GuestCommandContext,
  listCommand,
  parseTimeout,
  rebootCommand,
  shutdownCommand,
  startCommand,
  undefineCommand,
  xmlCommand,
} from './guest.js';
import { agentCommand } from './guestAgent.js';
import { listAllHostsCommand } from './guestListAll.js';
import { registerGuestMigrateCommand } from './guestMigrate.js';
import type { CommandKit } from './kit.js';

/**
 * argv → the TUI, the demo sandbox, or a headless guest command. Everything with side effects
 * comes in through CliDeps, so the parsing and exit codes are unit-tested with a fake host.
 */

export interface CliDeps {
  version: string;
  createHost(opts: { uri?: string }): HostContext;
  runTui(host: HostContext): Promise<void>;
  /** Builds (or reuses) the demo guests; progress lines are printed before the TUI starts. */
  ensureDemo(host: HostContext, onProgress: (line: string) => void): Promise<void>;
  /** Removes the demo guests and files; returns one line per step taken (or guest kept). */
  resetDemo(host: HostContext): Promise<string[]>;
  output(json: boolean): Output;
  /** `guest list --all-hosts`: the config file's hosts, and how to reach one (defaults: the config file, createHostContext). */
  configHosts?: () => ConfigHosts;
  connectHost?: (target: HostOptions) => HostContext;
  /** How long each host may take to answer `--all-hosts` (default HOST_TIMEOUT_MS). */
  hostTimeoutMs?: number;
}

interface GlobalOptions {
  connect?: string;
  json?: boolean;
  demo?: boolean;
  reset?: boolean;
}

const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

/** The end of every command's --help: examples, then the exit codes scripts can rely on. */
export function examples(lines: string[]): string {
  return `\nExamples:\n${lines.map((l) => `  $ ${l}`).join('\n')}\n\n${EXIT_CODES_HELP}\n`;
}

function buildProgram(deps: CliDeps, setExit: (code: ExitCode) => void, groups: RegisterCommands[]): Command {
  const program = new Command('virtdeck');
  program
    .description('A full-screen terminal console for small libvirt/QEMU hosts. With no command it opens the console.')
    .version(deps.version, '-V, --version', 'print the version and exit')
    .helpOption('-h, --help', 'show help for a command')
    .option('-c, --connect <uri>', 'libvirt URI (default: $LIBVIRT_DEFAULT_URI, else qemu:///system)')
    .option('--json', 'print machine-readable JSON (guest commands)')
    .option('--demo', 'build the demo guests (demo-*, or $VIRTDECK_DEMO_PREFIX*) if needed and open the console on them')
    .option('--reset', 'with --demo: remove the demo guests and their files, then exit')
    .configureHelp({ showGlobalOptions: true, sortSubcommands: false })
    .showSuggestionAfterError(true)
    .addHelpText(
      'after',
      examples([
        'virtdeck                          # open the console on qemu:///system',
        'virtdeck --demo                   # try it on throw-away demo guests',
        'virtdeck --demo --reset           # remove the demo guests again',
        'virtdeck --connect qemu+ssh://root@host1/system',
        'virtdeck guest list --json',
      ]),
    );

  const globals = (): GlobalOptions => program.opts<GlobalOptions>();
  const context = (): GuestCommandContext => {
    const g = globals();
    return { host: deps.createHost({ uri: g.connect }), output: deps.output(Boolean(g.json)) };
  };
  const run = (fn: (ctx: GuestCommandContext) => Promise<ExitCode>) => async () => {
    const ctx = context();
    try {
      setExit(await fn(ctx));
    } catch (e) {
      setExit(reportError(ctx.output, e));
    }
  };

  const kit: CommandKit = { run, examples, collect };
  for (const register of groups) register(program, kit);

  program.action(async () => {
    const g = globals();
    if (g.reset && !g.demo) throw new UserError('--reset only goes with --demo.', 'Run `virtdeck --demo --reset` to remove the demo guests.');
    if (g.json) throw new UserError('--json is for the guest commands; the console is interactive.', 'Run `virtdeck guest list --json`.');
    const host = deps.createHost({ uri: g.connect });
    const output = deps.output(false);
    if (g.demo && g.reset) {
      const removed = await deps.resetDemo(host);
      output.out(removed.length > 0 ? removed.join('\n') : 'The demo sandbox was already gone.');
      setExit(EXIT.ok);
      return;
    }
    if (g.demo) await deps.ensureDemo(host, (line) => output.out(line));
    await deps.runTui(host);
    setExit(EXIT.ok);
  });

  const guest = program
    .command('guest')
    .description('list, start, stop, edit and remove guests without the console')
    .addHelpText('after', examples(['virtdeck guest list', 'virtdeck guest shutdown web --timeout 60 --force-after', 'virtdeck guest edit web --memory 2G --dry-run']));

  guest
    .command('list')
    .description('list every guest with its state, CPUs, memory, disks, MAC, VNC port and autostart')
    .option('--all-hosts', "also every host of the config file's \"hosts\", asked at once (a HOST column; a host that does not answer is reported and exits 1)")
    .addHelpText(
      'after',
      examples(['virtdeck guest list', 'virtdeck guest list --json | jq -r \'.guests[] | select(.state=="running") | .name\'', 'virtdeck guest list --all-hosts --json']),
    )
    .action((opts: { allHosts?: boolean }) =>
      run((ctx) =>
        opts.allHosts ? listAllHostsCommand(ctx, { hosts: (deps.configHosts ?? configHosts)(), connect: deps.connectHost ?? createHostContext, timeoutMs: deps.hostTimeoutMs }) : listCommand(ctx),
      )(),
    );

  guest
    .command('start')
    .description('start guests (a guest already running is left alone)')
    .argument('<name...>', 'guest names')
    .addHelpText('after', examples(['virtdeck guest start web', 'virtdeck guest start web files']))
    .action((names: string[]) => run((ctx) => startCommand(ctx, names))());

  guest
    .command('shutdown')
    .description('ask guests to power off (ACPI) and wait until they are shut off')
    .argument('<name...>', 'guest names')
    .option('-t, --timeout <sec>', 'seconds to wait for each guest; 0 = ask and do not wait', '120')
    .option('--force-after', 'force the guest off when it is still running after the timeout')
    .addHelpText('after', examples(['virtdeck guest shutdown web', 'virtdeck guest shutdown web --timeout 30 --force-after']))
    .action((names: string[], opts: { timeout: string; forceAfter?: boolean }) =>
      run((ctx) => shutdownCommand(ctx, names, { timeoutSec: parseTimeout(opts.timeout), forceAfter: Boolean(opts.forceAfter) }))(),
    );

  guest
    .command('destroy')
    .description('force guests off at once, like pulling the power plug')
    .argument('<name...>', 'guest names')
    .addHelpText('after', examples(['virtdeck guest destroy web']))
    .action((names: string[]) => run((ctx) => destroyCommand(ctx, names))());

  guest
    .command('reboot')
    .description('ask a running guest to reboot (ACPI)')
    .argument('<name>', 'guest name')
    .addHelpText('after', examples(['virtdeck guest reboot web']))
    .action((name: string) => run((ctx) => rebootCommand(ctx, name))());

  guest
    .command('autostart')
    .description('start the guest when the host boots (on) or not (off)')
    .argument('<name>', 'guest name')
    .argument('<on|off>', 'on or off')
    .addHelpText('after', examples(['virtdeck guest autostart web on', 'virtdeck guest autostart web off']))
    .action((name: string, value: string) => run((ctx) => autostartCommand(ctx, name, value))());

  guest
    .command('undefine')
    .description('remove a shut-off guest\'s definition (and with --remove-disks its disk volumes)')
    .argument('<name>', 'guest name')
    .option('--yes', 'confirm; without it the command only says what it would remove')
    .option('--remove-disks', 'also delete the disk volumes libvirt manages for it')
    .addHelpText('after', examples(['virtdeck guest undefine old-web          # says what would go', 'virtdeck guest undefine old-web --yes --remove-disks']))
    .action((name: string, opts: { yes?: boolean; removeDisks?: boolean }) =>
      run((ctx) => undefineCommand(ctx, name, { yes: Boolean(opts.yes), removeDisks: Boolean(opts.removeDisks) }))(),
    );

  guest
    .command('edit')
    .description('change a guest\'s definition: prints the XML diff, then defines it (validated)')
    .argument('<name>', 'guest name')
    .option('--memory <size>', 'memory with a unit, e.g. 512M or 2G (a bare number is refused)')
    .option('--vcpus <n>', 'number of virtual CPUs')
    .addOption(new Option('--mac <[idx=]mac|generate[:vmware]>', 'MAC of NIC idx (default 0); generate makes 52:54:00:…, generate:vmware 00:50:56:… (repeatable)').argParser(collect))
    .option('--vnc <port|auto>', 'VNC port (5900-65535) or auto')
    .option('--listen <addr>', 'VNC listen address, e.g. 127.0.0.1 or 0.0.0.0')
    .option('--boot <devs>', 'boot order, comma-separated: hd,cdrom,network,fd')
    .option('--attach-iso <path>', 'put an ISO (absolute path on the host) in the CD-ROM drive, adding one if needed')
    .addOption(new Option('--eject <target>', 'empty the CD-ROM drive with this target, e.g. hdc (repeatable)').argParser(collect))
    .addOption(new Option('--disk-bus <target=bus>', 'move a disk to another bus: ide, sata, scsi, virtio (repeatable)').argParser(collect))
    .option('--guest-agent <yes|no>', 'add (yes) or remove (no) the org.qemu.guest_agent.0 channel the QEMU guest agent talks on')
    .option('-n, --dry-run', 'print the diff only; define nothing')
    .addHelpText(
      'after',
      `
The edit is made on the inactive definition: a running guest picks it up at its next start.
${examples([
  'virtdeck guest edit web --memory 1G --vcpus 2 --dry-run',
  'virtdeck guest edit web --mac 0=00:50:56:01:02:03',
  'virtdeck guest edit web --mac generate:vmware',
  'virtdeck guest edit web --vnc 5901 --listen 127.0.0.1',
  'virtdeck guest edit web --boot cdrom,hd --attach-iso /srv/iso/debian.iso',
  'virtdeck guest edit web --eject hdc --disk-bus hda=sata',
  'virtdeck guest edit web --guest-agent yes',
])}`,
    )
    .action((name: string, opts: Record<string, unknown>) =>
      run((ctx) =>
        editCommand(ctx, name, {
          memory: opts.memory as string | undefined,
          vcpus: opts.vcpus as string | undefined,
          mac: opts.mac as string[] | undefined,
          vnc: opts.vnc as string | undefined,
          listen: opts.listen as string | undefined,
          boot: opts.boot as string | undefined,
          attachIso: opts.attachIso as string | undefined,
          eject: opts.eject as string[] | undefined,
          diskBus: opts.diskBus as string[] | undefined,
          guestAgent: opts.guestAgent as string | undefined,
          dryRun: Boolean(opts.dryRun),
        }),
      )(),
    );

  guest
    .command('agent')
    .description('ask a running guest\'s QEMU guest agent for its addresses, hostname, OS and file systems (2 s at most)')
    .argument('<name>', 'guest name')
    .addHelpText(
      'after',
      `
Without an agent the addresses come from libvirt's DHCP leases or the host's ARP table, and the
output says how to add the channel and install qemu-guest-agent; that is not a failure (exit 0).
${examples(['virtdeck guest agent web', "virtdeck guest agent web --json | jq -r '.guests[0].agent.addresses[].address'"])}`,
    )
    .action((name: string) => run((ctx) => agentCommand(ctx, name))());

  guest
    .command('xml')
    .description('print a guest\'s domain XML')
    .argument('<name>', 'guest name')
    .option('--inactive', 'the definition used at the next start, not the running one')
    .addHelpText('after', examples(['virtdeck guest xml web > web.xml', 'virtdeck guest xml web --inactive']))
    .action((name: string, opts: { inactive?: boolean }) => run((ctx) => xmlCommand(ctx, name, { inactive: Boolean(opts.inactive) }))());

  registerGuestMigrateCommand(guest, kit);

  return program;
}

/** The known commands named in argv, to point at the right --help. */
function commandPath(program: Command, argv: string[]): string {
  const words: string[] = [program.name()];
  let cmd: Command | undefined = program;
  for (const a of argv.filter((w) => !w.startsWith('-'))) {
    cmd = cmd.commands.find((c) => c.name() === a);
    if (!cmd) break;
    words.push(a);
  }
  return words.join(' ');
}

/** Commander's "error: unknown option '--mem'" → one sentence that starts with a capital. */
function usageSentence(message: string): string {
  const text = message.replace(/^error:\s*/i, '').trim();
  const first = text.split('\n')[0] ?? text;
  const sentence = first.charAt(0).toUpperCase() + first.slice(1);
  return /[.?!)]$/.test(sentence) ? sentence : `${sentence}.`;
}

/**
 * Runs the CLI and returns the exit code; never throws and never prints a stack trace (except
 * with VIRTDECK_DEBUG=1).
 */
/**
 * Whether argv names a command or asks for help: only then are the command groups (and the job code
 * they import) loaded, so the console (`virtdeck`, `--connect URI`, `--demo`) does not carry them.
 */
export function namesCommand(argv: string[]): boolean {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    if (a === '--') return i + 1 < argv.length;
    if (a === '-c' || a === '--connect') {
      i++;
      continue;
    }
    if (!a.startsWith('-') || a === '-h' || a === '--help') return true;
  }
  return false;
}

export async function runCli(argv: string[], deps: CliDeps): Promise<ExitCode> {
  let exitCode: ExitCode = EXIT.ok;
  const json = argv.includes('--json');
  const output = deps.output(json);
  const groups = namesCommand(argv) ? (await import('./groups.js')).COMMAND_GROUPS : [];
  const program = buildProgram(
    deps,
    (code) => {
      exitCode = code;
    },
    groups,
  );
  let suggestion = '';
  program.exitOverride();
  // Commander would print its own "error: …"; virtdeck prints the sentence-and-fix form instead.
  const configure = (cmd: Command) => {
    cmd.exitOverride().configureOutput({
      writeOut: (s) => output.out(s.replace(/\n$/, '')),
      writeErr: (s) => output.err(s.replace(/\n$/, '')),
      outputError: (s) => {
        suggestion = s.match(/\(Did you mean [^)]*\)/)?.[0] ?? '';
      },
    });
    for (const sub of cmd.commands) configure(sub);
  };
  configure(program);
  try {
    await program.parseAsync(argv, { from: 'user' });
    return exitCode;
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version') return EXIT.ok;
      if (e.code === 'commander.help' || e.code === 'commander.executeSubCommandAsync') {
        return EXIT.usage;
      }
      const sentence = usageSentence(e.message.replace(/\(Did you mean [^)]*\)/, '').trim());
      const fix = `${suggestion ? `${suggestion.replace(/[()]/g, '')} ` : ''}Run \`${commandPath(program, argv)} --help\` for the usage.`;
      return reportError(output, new UserError(sentence, fix));
    }
    return reportError(output, e);
  }
}
