import { readFileSync } from 'node:fs';
import { explain, HostError } from '../../src/host/errors.js';
import type { ExecOptions, ExecResult, Executor } from '../../src/host/exec.js';
import type { HostContext } from '../../src/host/hostContext.js';
import type { GuestDisk, GuestState } from '../../src/host/virsh.js';
import { summarizeDomainXml } from '../../src/model/domainSummary.js';
import { imageHeadAnswer } from './imageHeads.js';

/**
 * A scripted libvirt host for UI and store tests: one Executor (used as both virshExec and
 * sysExec) that answers the virsh invocations src/host/virsh.ts makes, changes guest state the way
 * libvirt would, records every argv, and fails through explain() like the real executor.
 */
export interface FakeGuest {
  name: string;
  uuid?: string;
  state: GuestState;
  vcpus: number;
  memoryMiB: number;
  /** Omitted: one qcow2 disk vda; [] for none. */
  disks?: Partial<GuestDisk>[];
  /** Omitted: one generated MAC on bridge br0; [] for no NIC. */
  macs?: string[];
  /** Omitted or 'auto': autoport VNC; null: no graphics. */
  vncPort?: number | 'auto' | null;
  autostart?: boolean;
  serial?: boolean;
  /** A guest without an OS ignores ACPI shutdown and stays running. */
  ignoresAcpi?: boolean;
  persistent?: boolean;
  osId?: string; // libosinfo id, e.g. http://debian.org/debian/12
  /** What `virsh domstats` reports for it while active (cpu.time, balloon.rss, block.0.rd.bytes…); change it between refreshes. */
  stats?: Record<string, number>;
  /** The org.qemu.guest_agent.0 channel: omitted, none; its live state as libvirt reports it. */
  agentChannel?: 'connected' | 'disconnected';
  /** What the agent answers while the channel is connected: virsh's own output; `hang`: it never answers. */
  agent?: { domifaddr?: string; guestinfo?: string; hang?: boolean };
  /** `virsh domifaddr --source lease` output (libvirt's DHCP leases). */
  leases?: string;
}

export interface FakeHostOptions {
  /** virsh subcommand (e.g. 'start') -> stderr to fail with. */
  failOn?: Record<string, string>;
  uri?: string;
  hostname?: string;
  bridges?: string[];
  networks?: { name: string; active: boolean; bridge: string | null }[];
  nodeMemoryKiB?: number;
  /** What `virsh nodecpustats` reports (ns); change it between refreshes. Default: counters that never move. */
  nodeCpuStats?: { user: number; system: number; idle: number; iowait: number };
  /** What /proc/loadavg holds ("0.52 0.48 0.40 2/313 20310"); without it the file cannot be read. */
  loadavg?: string;
  /** Delay before each answer, to see spinners. */
  latencyMs?: number;
  /** Image files on the fake host, by absolute path: answered by find, stat, qemu-img info/check and rm. */
  images?: Record<string, FakeImage>;
  /** Directories on the fake host, by absolute path: answered by `ls -1Ap -- DIR` (names; a trailing / marks a directory). */
  dirs?: Record<string, string[]>;
  /** Paths in `dirs` the user may not read: `ls -1ApdL` of a child and `head -c 0` fail with Permission denied. */
  unreadable?: string[];
  /** What `printenv HOME` answers (default /root). */
  home?: string;
}

export interface FakeImage {
  format: string;
  virtualSize: number;
  /** File size in bytes (default 196616). */
  size?: number;
  /** Seconds since the epoch (default 1700000000). */
  mtime?: number;
  backing?: string;
  /** What `qemu-img check --output=json` reports. */
  check?: { corruptions?: number; leaks?: number; checkErrors?: number };
  /** Another name (a symlink, a hard link) of the image at this path: the identity `stat` says they are one file. */
  sameAs?: string;
}

export interface FakeHost {
  host: HostContext;
  calls: string[][];
  guests: FakeGuest[];
  /** Emits a line to every running `virsh event --loop` watcher. */
  emitEvent(line: string): void;
}

class Failure extends Error {
  constructor(readonly stderr: string) {
    super(stderr);
  }
}

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/'/g, '&apos;');
}

function fakeUuid(i: number): string {
  const h = (i + 1).toString(16).padStart(12, '0');
  return `00000000-0000-4000-8000-${h}`;
}

const ACTIVE: GuestState[] = ['running', 'idle', 'paused', 'in shutdown', 'pmsuspended'];

export function createFakeHost(guests: FakeGuest[], opts: FakeHostOptions = {}): FakeHost {
  const calls: string[][] = [];
  const uri = opts.uri ?? 'qemu:///system';
  const defined = new Map<FakeGuest, string>(); // XML given to `define`, served back by dumpxml
  const ids = new Map<FakeGuest, number>();
  const watchers = new Set<(chunk: string) => void>();
  let nextId = 1;
  let uuidSeq = 0;
  for (const g of guests) {
    if (!g.uuid) g.uuid = fakeUuid(uuidSeq++);
    if (ACTIVE.includes(g.state)) ids.set(g, nextId++);
  }

  const emitEvent = (line: string) => {
    for (const w of watchers) w(`${line}\n`);
  };

  const find = (ref: string): FakeGuest => {
    const g = guests.find((x) => x.name === ref || x.uuid?.toLowerCase() === ref.toLowerCase());
    if (!g) throw new Failure(`error: failed to get domain '${ref}'`);
    return g;
  };
  const isActive = (g: FakeGuest) => ACTIVE.includes(g.state);
  const setState = (g: FakeGuest, state: GuestState, event: string) => {
    g.state = state;
    if (isActive(g) && !ids.has(g)) ids.set(g, nextId++);
    if (!isActive(g)) {
      ids.delete(g);
      if (g.persistent === false) guests.splice(guests.indexOf(g), 1);
    }
    emitEvent(`event 'lifecycle' for domain '${g.name}': ${event}`);
  };
  const notRunning = (verb: string, g: FakeGuest) =>
    new Failure(`error: Failed to ${verb} domain '${g.name}'\nerror: Requested operation is not valid: domain is not running`);

  const domainXml = (g: FakeGuest, inactive: boolean): string => {
    const stored = defined.get(g);
    if (stored) return stored;
    const idx = guests.indexOf(g);
    const live = !inactive && isActive(g);
    const disks = (g.disks ?? [{}]).map((d, i) => {
      const target = d.target ?? `vd${String.fromCharCode(97 + i)}`;
      const device = d.device ?? 'disk';
      const source = d.source === undefined ? `/var/lib/libvirt/images/${g.name}-${target}.qcow2` : d.source;
      const format = d.format === undefined ? (device === 'cdrom' ? 'raw' : 'qcow2') : d.format;
      return `    <disk type='file' device='${device}'>
      ${format ? `<driver name='qemu' type='${esc(format)}'/>` : ''}
      ${source ? `<source file='${esc(source)}'/>` : ''}
      <target dev='${esc(target)}' bus='${esc(d.bus ?? (device === 'cdrom' ? 'sata' : 'virtio'))}'/>
    </disk>`;
    });
    const macs = g.macs ?? [`52:54:00:00:${(idx >> 8).toString(16).padStart(2, '0')}:${(idx & 255).toString(16).padStart(2, '0')}`];
    const nics = macs.map(
      (m) => `    <interface type='bridge'><mac address='${esc(m)}'/><source bridge='br0'/><model type='virtio'/></interface>`,
    );
    const vnc = g.vncPort === undefined ? 'auto' : g.vncPort;
    const port = vnc === null ? null : live ? (vnc === 'auto' ? 5900 + (ids.get(g) ?? 0) : vnc) : vnc === 'auto' ? -1 : vnc;
    const graphics =
      port === null ? '' : `    <graphics type='vnc' port='${port}' autoport='${vnc === 'auto' ? 'yes' : 'no'}' listen='127.0.0.1'/>`;
    const serial = g.serial
      ? "    <serial type='pty'><target port='0'/></serial>\n    <console type='pty'><target type='serial' port='0'/></console>"
      : '';
    const channel = g.agentChannel
      ? `    <channel type='unix'><source mode='bind' path='/var/lib/libvirt/qemu/channel/target/x/org.qemu.guest_agent.0'/><target type='virtio' name='org.qemu.guest_agent.0'${live ? ` state='${g.agentChannel}'` : ''}/></channel>`
      : '';
    const metadata = g.osId
      ? `  <metadata><libosinfo:libosinfo xmlns:libosinfo='http://libosinfo.org/xmlns/libvirt/domain/1.0'><libosinfo:os id='${esc(g.osId)}'/></libosinfo:libosinfo></metadata>\n`
      : '';
    return `<domain type='qemu'${live ? ` id='${ids.get(g)}'` : ''}>
  <name>${esc(g.name)}</name>
  <uuid>${g.uuid}</uuid>
${metadata}  <memory unit='KiB'>${g.memoryMiB * 1024}</memory>
  <currentMemory unit='KiB'>${g.memoryMiB * 1024}</currentMemory>
  <vcpu placement='static'>${g.vcpus}</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type></os>
  <devices>
${[...disks, ...nics, serial, channel, graphics].filter(Boolean).join('\n')}
  </devices>
</domain>
`;
  };

  const define = (xml: string, file: string): string => {
    let s: ReturnType<typeof summarizeDomainXml>;
    const withUuid = /<uuid>/.test(xml) ? xml : xml.replace(/<\/name>/, `</name>\n  <uuid>${fakeUuid(1000 + uuidSeq++)}</uuid>`);
    try {
      s = summarizeDomainXml(withUuid);
    } catch {
      throw new Failure(`error: Failed to define domain from ${file}\nerror: (domain_definition):1: Document is empty`);
    }
    const clash = guests.find((x) => x.name === s.name && x.uuid !== s.uuid && /<uuid>/.test(xml));
    if (clash) {
      throw new Failure(
        `error: Failed to define domain from ${file}\nerror: operation failed: domain '${s.name}' already exists with uuid ${clash.uuid}`,
      );
    }
    let g = guests.find((x) => x.name === s.name);
    if (!g) {
      g = { name: s.name, uuid: s.uuid, state: 'shut off', vcpus: s.vcpus, memoryMiB: Math.round(s.memoryKiB / 1024) };
      guests.push(g);
    }
    Object.assign(g, { vcpus: s.vcpus, memoryMiB: Math.round(s.memoryKiB / 1024), persistent: true });
    defined.set(g, withUuid.replace(/<uuid>[^<]*<\/uuid>/, `<uuid>${g.uuid}</uuid>`));
    return `Domain '${g.name}' defined from ${file}\n`;
  };

  const flag = (args: string[], f: string) => args.includes(f);
  const domainArg = (args: string[]): string => {
    const i = args.indexOf('--domain');
    const ref = i >= 0 ? args[i + 1] : args.find((a) => !a.startsWith('--'));
    if (!ref) throw new Failure("error: command requires option '--domain'");
    return ref;
  };

  /** One virsh command; returns its stdout or throws a Failure with virsh's stderr. */
  const command = (args: string[], input: string | undefined): string => {
    const [cmd = '', ...rest] = args;
    const failure = opts.failOn?.[cmd];
    if (failure !== undefined) throw new Failure(failure);
    switch (cmd) {
      case 'echo':
        return `${rest.join(' ')}\n`;
      case 'version':
        return 'Compiled against library: libvirt 9.0.0\nUsing library: libvirt 9.0.0\nUsing API: QEMU 9.0.0\nRunning hypervisor: QEMU 7.2.0\n\n';
      case 'hostname':
        return `${opts.hostname ?? 'fakehost'}\n\n`;
      case 'nodecpustats': {
        const c = opts.nodeCpuStats ?? { user: 1e12, system: 2e11, idle: 5e12, iowait: 1e10 };
        return `user:${String(c.user).padStart(22)}\nsystem:${String(c.system).padStart(20)}\nidle:${String(c.idle).padStart(22)}\niowait:${String(c.iowait).padStart(20)}\n\n`;
      }
      case 'nodeinfo':
        return `CPU model:           x86_64\nCPU(s):              2\nMemory size:         ${opts.nodeMemoryKiB ?? 8_388_608} KiB\n\n`;
      case 'list': {
        let sel = guests.filter((g) => flag(rest, '--all') || isActive(g));
        if (flag(rest, '--autostart')) sel = sel.filter((g) => g.autostart);
        if (flag(rest, '--transient')) sel = sel.filter((g) => g.persistent === false);
        if (flag(rest, '--persistent')) sel = sel.filter((g) => g.persistent !== false);
        if (flag(rest, '--uuid')) return `${sel.map((g) => `${g.uuid}\n`).join('')}\n`;
        if (flag(rest, '--name')) return `${sel.map((g) => `${g.name}\n`).join('')}\n`;
        return ` Id   Name   State\n---\n${sel.map((g) => ` ${ids.get(g) ?? '-'}   ${g.name}   ${g.state}\n`).join('')}\n`;
      }
      case 'domstate':
        return `${find(domainArg(rest)).state}\n\n`;
      case 'domstats':
        return guests
          .filter((g) => !(flag(rest, '--list-active') && !isActive(g)) && !(flag(rest, '--list-inactive') && isActive(g)))
          .map((g) => {
            const fields = { 'state.state': isActive(g) ? 1 : 5, ...(isActive(g) ? g.stats : {}) };
            return `Domain: '${g.name}'\n${Object.entries(fields).map(([k, v]) => `  ${k}=${v}\n`).join('')}\n`;
          })
          .join('');
      case 'dumpxml':
        return domainXml(find(domainArg(rest)), flag(rest, '--inactive'));
      case 'define': {
        const file = rest[rest.indexOf('--file') + 1] ?? '';
        return define(input ?? readFileSync(file, 'utf8'), file);
      }
      case 'start': {
        const g = find(domainArg(rest));
        if (isActive(g)) throw new Failure(`error: Failed to start domain '${g.name}'\nerror: Requested operation is not valid: domain is already running`);
        setState(g, 'running', 'Started Booted');
        return `Domain '${g.name}' started\n\n`;
      }
      case 'shutdown': {
        const g = find(domainArg(rest));
        if (!isActive(g)) throw notRunning('shutdown', g);
        if (!g.ignoresAcpi) setState(g, 'shut off', 'Stopped Shutdown');
        return `Domain '${g.name}' is being shutdown\n\n`;
      }
      case 'destroy': {
        const g = find(domainArg(rest));
        if (!isActive(g)) throw notRunning('destroy', g);
        setState(g, 'shut off', 'Stopped Destroyed');
        return `Domain '${g.name}' destroyed\n\n`;
      }
      case 'reboot': {
        const g = find(domainArg(rest));
        if (!isActive(g)) throw notRunning('reboot', g);
        emitEvent(`event 'reboot' for domain '${g.name}'`);
        return `Domain '${g.name}' is being rebooted\n\n`;
      }
      case 'suspend': {
        const g = find(domainArg(rest));
        if (!isActive(g)) throw notRunning('suspend', g);
        setState(g, 'paused', 'Suspended Paused');
        return `Domain '${g.name}' suspended\n\n`;
      }
      case 'resume': {
        const g = find(domainArg(rest));
        if (g.state !== 'paused') {
          throw new Failure(`error: Failed to resume domain '${g.name}'\nerror: Requested operation is not valid: domain is not paused`);
        }
        setState(g, 'running', 'Resumed Unpaused');
        return `Domain '${g.name}' resumed\n\n`;
      }
      case 'autostart': {
        const g = find(domainArg(rest));
        g.autostart = !flag(rest, '--disable');
        return `Domain '${g.name}' ${g.autostart ? 'marked as autostarted' : 'unmarked as autostarted'}\n\n`;
      }
      case 'undefine': {
        const g = find(domainArg(rest));
        if (isActive(g)) g.persistent = false;
        else guests.splice(guests.indexOf(g), 1);
        defined.delete(g);
        emitEvent(`event 'lifecycle' for domain '${g.name}': Undefined Removed`);
        return `Domain '${g.name}' has been undefined\n\n`;
      }
      case 'vncdisplay': {
        const g = find(domainArg(rest));
        if (!isActive(g)) throw new Failure('error: Requested operation is not valid: domain is not running');
        const port = g.vncPort === undefined || g.vncPort === 'auto' ? 5900 + (ids.get(g) ?? 0) : g.vncPort;
        if (port === null) throw new Failure('error: Failed to get VNC port. Is this domain using VNC?');
        return `127.0.0.1:${port - 5900}\n\n`;
      }
      case 'detach-disk': {
        const g = find(domainArg(rest));
        const target = rest[rest.indexOf('--target') + 1] ?? '';
        const all = (g.disks ?? [{}]).map((d, i) => ({ ...d, target: d.target ?? `vd${String.fromCharCode(97 + i)}` }));
        if (!all.some((d) => d.target === target)) throw new Failure(`error: No disk found whose source path or target is ${target}`);
        g.disks = all.filter((d) => d.target !== target);
        return 'Disk detached successfully\n\n';
      }
      case 'domifaddr':
      case 'guestinfo': {
        const g = find(domainArg(rest));
        if (!isActive(g)) throw new Failure('error: Requested operation is not valid: domain is not running');
        const source = rest[rest.indexOf('--source') + 1];
        const table = ' Name       MAC address          Protocol     Address\n-------------------------------------------------------------------------------\n';
        if (cmd === 'domifaddr' && source === 'lease') return `${table}${g.leases ?? ''}\n`;
        if (cmd === 'domifaddr' && source === 'arp') return `${table}\n`;
        const failed = cmd === 'domifaddr' ? 'error: Failed to query for interfaces addresses\n' : '';
        if (!g.agentChannel) throw new Failure(`${failed}error: argument unsupported: QEMU guest agent is not configured`);
        if (g.agentChannel !== 'connected' || !g.agent) throw new Failure(`${failed}error: Guest agent is not responding: QEMU guest agent is not connected`);
        return cmd === 'domifaddr' ? `${table}${g.agent.domifaddr ?? ''}\n` : `${g.agent.guestinfo ?? ''}\n`;
      }
      case 'pool-list':
        return '\n';
      case 'net-list': {
        const nets = opts.networks ?? [];
        return `${nets.map((n, i) => `${flag(rest, '--uuid') ? fakeUuid(5000 + i) : n.name}\n`).join('')}\n`;
      }
      case 'net-info': {
        const ref = rest[rest.indexOf('--network') + 1] ?? '';
        const i = (opts.networks ?? []).findIndex((n, j) => n.name === ref || fakeUuid(5000 + j) === ref);
        const n = opts.networks?.[i];
        if (!n) throw new Failure(`error: failed to get network '${ref}'\nerror: Network not found: no network with matching name '${ref}'`);
        return `Name:           ${n.name}\nUUID:           ${fakeUuid(5000 + i)}\nActive:         ${n.active ? 'yes' : 'no'}\nPersistent:     yes\nAutostart:      no\nBridge:         ${n.bridge ?? ''}\n\n`;
      }
      default:
        throw new Failure(`error: unknown command: '${cmd}'`);
    }
  };

  const runVirsh = async (argv: string[], o: ExecOptions): Promise<ExecResult> => {
    if (argv[1] !== '-c' || argv[2] !== uri) throw new Failure(`error: fake host expects 'virsh -c ${uri}', got ${argv.join(' ')}`);
    const rest = argv.slice(3);
    if (rest[0] === 'event') return watch(argv, o);
    if (rest.length === 1 && rest[0]?.includes(';')) {
      // A hung guest agent: the batch that asks it answers only when the caller's timeout kills it.
      const asked = /--source agent|guestinfo/.test(rest[0] ?? '') ? guests.find((g) => g.agent?.hang && (rest[0] ?? '').includes(g.uuid ?? '-')) : undefined;
      if (asked) {
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, o.timeoutMs ?? 60_000);
          o.signal?.addEventListener(
            'abort',
            () => {
              clearTimeout(t);
              resolve();
            },
            { once: true },
          );
        });
        if (o.signal?.aborted) throw new HostError({ sentence: 'The operation was cancelled.', fix: 'Nothing to do.', command: argv, stderr: '', code: 'cancelled' });
        throw new Failure(`virtdeck: operation timed out after ${o.timeoutMs ?? 60_000} ms`);
      }
      // virsh's command-string mode: every command runs; errors go to stderr and do not stop it.
      const cmds = (rest[0] ?? '').split(';').map((c) => c.trim().split(/\s+/).filter(Boolean));
      for (const c of cmds) {
        const failure = opts.failOn?.[c[0] ?? ''];
        if (failure !== undefined) throw new Failure(failure);
      }
      let stdout = '';
      let stderr = '';
      let last = 0;
      for (const c of cmds) {
        try {
          stdout += command(c, o.input);
          last = 0;
        } catch (e) {
          if (!(e instanceof Failure)) throw e;
          stderr += `${e.stderr}\n\n`;
          stdout += '\n';
          last = 1;
        }
      }
      if (last !== 0) throw new Failure(stderr);
      return { argv, exitCode: 0, stdout, stderr };
    }
    return { argv, exitCode: 0, stdout: command(rest, o.input), stderr: '' };
  };

  const watch = (argv: string[], o: ExecOptions): Promise<ExecResult> =>
    new Promise((resolve, reject) => {
      const w = (chunk: string) => o.onStdout?.(chunk);
      watchers.add(w);
      const stop = () => {
        watchers.delete(w);
        reject(new HostError({ sentence: 'The operation was cancelled.', fix: 'Nothing to do.', command: argv, stderr: '', code: 'cancelled' }));
      };
      if (o.signal?.aborted) stop();
      else o.signal?.addEventListener('abort', stop, { once: true });
      if (!o.signal) resolve({ argv, exitCode: 0, stdout: '', stderr: '' });
    });

  const images = opts.images ?? {};
  const imageAnswer = (argv: string[]): ExecResult | null => {
    // Only hosts made with images answer file queries; the others keep their own stat/find answers.
    if (!opts.images) return null;
    const [prog, ...args] = argv;
    const ok = (stdout: string, exitCode = 0): ExecResult => ({ argv, exitCode, stdout, stderr: '' });
    if (prog === 'find' && !(args[0] ?? '').startsWith('/sys/')) {
      // Every start point before the expression (the inventory scans all its directories in one find).
      const end = args.findIndex((a) => a.startsWith('-') || a === '(');
      const roots = args.slice(0, end < 0 ? args.length : end);
      const found = Object.entries(images).filter(([p]) => roots.some((dir) => p.startsWith(`${dir === '/' ? '' : dir}/`)));
      return ok(found.map(([p, i]) => `${p}\t${i.size ?? 196616}\t${i.mtime ?? 1700000000}.0000000000\n`).join(''));
    }
    if (prog === 'stat') {
      const paths = args.slice(args.indexOf('--') + 1);
      const found = paths.filter((p) => images[p]);
      if (args.some((a) => a.includes('%i'))) {
        // host/fileIdentity.ts: device and inode; every name of one image gets its inode.
        const inode = (p: string) => Object.keys(images).indexOf(images[p]?.sameAs ?? p) + 1;
        return ok(found.map((p) => `regular file\t64769\t${inode(p)}\t0\t0\t-\t${p}\0`).join(''), found.length === paths.length ? 0 : 1);
      }
      const out = found.map((p) => `regular file\t${images[p]?.size ?? 196616}\t${images[p]?.mtime ?? 1700000000}.000000000\t${p}\0`).join('');
      return ok(out, found.length === paths.length ? 0 : 1);
    }
    if (prog === 'qemu-img' && args[0] === 'create') {
      // qemu-img create -q -f FORMAT [-o …] PATH BYTES
      const [path = '', bytes = '0'] = args.slice(-2);
      images[path] = { format: args[args.indexOf('-f') + 1] ?? 'raw', virtualSize: Number(bytes) };
      return ok('');
    }
    if (prog === 'sh' && args[1]?.startsWith('for f in "$@"; do if test -e')) {
      // qemu-img.ts existingPaths: which of the paths exist.
      return ok(args.slice(3).filter((p) => images[p]).map((p) => `${p}\0`).join(''));
    }
    if (prog === 'qemu-img' && (args[0] === 'info' || args[0] === 'check')) {
      const path = args[args.length - 1] ?? '';
      const img = images[path];
      if (!img) throw new Failure(`qemu-img: Could not open '${path}': Could not open '${path}': No such file or directory`);
      if (args[0] === 'check') {
        const c = img.check ?? {};
        const bad = (c.corruptions ?? 0) + (c.checkErrors ?? 0) > 0;
        const report = { filename: path, format: img.format, 'check-errors': c.checkErrors ?? 0, corruptions: c.corruptions ?? 0, leaks: c.leaks ?? 0 };
        return ok(JSON.stringify(report), bad ? 2 : c.leaks ? 3 : 0);
      }
      const one = (p: string, i: FakeImage) => ({
        filename: p,
        format: i.format,
        'virtual-size': i.virtualSize,
        'actual-size': i.size ?? 196616,
        ...(i.backing ? { 'backing-filename': i.backing, 'full-backing-filename': i.backing, 'backing-filename-format': 'qcow2' } : {}),
      });
      if (!args.includes('--output=json')) return ok(`image: ${path}\nfile format: ${img.format}\nvirtual size: ${img.virtualSize} bytes\n`);
      if (!args.includes('--backing-chain')) return ok(JSON.stringify(one(path, img)));
      const chain = [one(path, img)];
      for (let b = img.backing; b; b = images[b]?.backing) {
        const bi = images[b];
        if (!bi) throw new Failure(`qemu-img: Could not open '${path}': Could not open backing file: Could not open '${b}': No such file or directory`);
        chain.push(one(b, bi));
      }
      return ok(JSON.stringify(chain));
    }
    const head = imageHeadAnswer(argv, images, (p) => opts.dirs?.[p] !== undefined);
    if (head) return head;
    if (prog === 'rm') {
      for (const p of args.slice(args.indexOf('--') + 1)) delete images[p];
      return ok('');
    }
    return null;
  };

  const runSys = (argv: string[]): ExecResult => {
    const answer = imageAnswer(argv);
    if (answer) return answer;
    const [prog, ...args] = argv;
    if (prog === 'find' && args[0] === '/sys/devices/virtual/net') {
      return { argv, exitCode: 0, stdout: (opts.bridges ?? ['br0']).map((b) => `/sys/devices/virtual/net/${b}/bridge\n`).join(''), stderr: '' };
    }
    if (prog === 'ls' && args[0] === '-1Ap') {
      const listing = opts.dirs?.[args[args.length - 1] ?? ''];
      if (opts.unreadable?.includes(args[args.length - 1] ?? '')) throw new Failure(`ls: cannot open directory '${args[args.length - 1]}': Permission denied`);
      if (!listing) throw new Failure(`ls: cannot access '${args[args.length - 1]}': No such file or directory`);
      return { argv, exitCode: 0, stdout: listing.map((n) => `${n}\n`).join(''), stderr: '' };
    }
    if (prog === 'ls' && args[0] === '-1ApdL') {
      // A path is there when it is a listed directory or a name in its parent's listing.
      const path = args[args.length - 1] ?? '';
      const parent = path.replace(/\/[^/]*$/, '') || '/';
      if (opts.unreadable?.includes(parent)) throw new Failure(`ls: cannot access '${path}': Permission denied`);
      if (opts.dirs?.[path]) return { argv, exitCode: 0, stdout: `${path}/\n`, stderr: '' };
      const name = path.slice(parent.length).replace(/^\//, '');
      const entry = opts.dirs?.[parent]?.find((n) => n === name || n === `${name}/`);
      if (!entry) throw new Failure(`ls: cannot access '${path}': No such file or directory`);
      return { argv, exitCode: 0, stdout: `${path}${entry.endsWith('/') ? '/' : ''}\n`, stderr: '' };
    }
    if (prog === 'head' && args[0] === '-c' && args[1] === '0') {
      const path = args[args.length - 1] ?? '';
      if (opts.unreadable?.includes(path)) throw new Failure(`head: cannot open '${path}' for reading: Permission denied`);
      return { argv, exitCode: 0, stdout: '', stderr: '' };
    }
    if (prog === 'cat' && args[0] === '/proc/loadavg' && opts.loadavg !== undefined) return { argv, exitCode: 0, stdout: opts.loadavg, stderr: '' };
    if (prog === 'printenv' && args[0] === 'HOME') return { argv, exitCode: 0, stdout: `${opts.home ?? '/root'}\n`, stderr: '' };
    if (prog === 'tail') {
      const file = args[args.length - 1] ?? '';
      const name = file.match(/\/([^/]+)\.log$/)?.[1] ?? 'guest';
      return { argv, exitCode: 0, stdout: `2024-01-01 00:00:00.000+0000: starting up libvirt version: 9.0.0, qemu version: 7.2.0, hostname: fakehost\nLC_ALL=C /usr/bin/qemu-system-x86_64 -name guest=${name}\n`, stderr: '' };
    }
    throw new Failure(`${prog}: the fake host does not simulate this command`);
  };

  const executor: Executor = {
    label: 'fake',
    async run(argv: string[], o: ExecOptions = {}): Promise<ExecResult> {
      calls.push(argv);
      if (opts.latencyMs) await new Promise((r) => setTimeout(r, opts.latencyMs));
      try {
        return argv[0] === 'virsh' ? await runVirsh(argv, o) : runSys(argv);
      } catch (e) {
        if (e instanceof Failure) throw explain(argv, e.stderr, 1);
        throw e;
      }
    },
    async interactive(argv: string[]): Promise<number> {
      calls.push(argv);
      return 0;
    },
  };

  const host: HostContext = { name: opts.hostname ?? 'fakehost', uri, virshExec: executor, sysExec: executor };
  return { host, calls, guests, emitEvent };
}
