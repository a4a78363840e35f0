// CONTRACT FILE — the signatures below are the agreed interface; the host layer implements them.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type DomainSummary, type GuestDisk, type GuestNic, type GuestVnc, summarizeDomainXml } from '../model/domainSummary.js';
import type { GuestRow, GuestState } from '../model/guest.js';
import { isActive } from '../model/guest.js';
import { type NodeCpuTimes, parseNodeCpuStats } from '../model/hostLoad.js';
import { DOMSTATS_GROUPS, type DomStatFields, parseDomstats, type UsageSample } from '../model/usage.js';
import { markWord } from '../model/virshFrames.js';
import { HostError } from './errors.js';
import type { ExecOptions, ExecResult } from './exec.js';
import { guestMemo, type KnownGuest, type MemoRound } from './guestMemo.js';
import type { HostContext } from './hostContext.js';

export type { GuestDisk, GuestNic, GuestRow, GuestState, GuestVnc };

export interface HostVersions {
  libvirt: string;
  hypervisor: string; // e.g. "QEMU 7.2.0"
  hostname: string;
}

export interface NetworkInfo {
  name: string;
  active: boolean;
  bridge: string | null;
}

/** The argv of `virsh -c URI ARGS…`, for commands shown in plans and for interactive children. */
export function virshArgv(host: HostContext, args: string[]): string[] {
  return ['virsh', '-c', host.uri, ...args];
}

function virsh(host: HostContext, args: string[], opts?: ExecOptions): Promise<ExecResult> {
  return host.virshExec.run(virshArgv(host, args), opts);
}

/**
 * virsh runs a `;`-separated command string given as its only argument, in one process and one
 * connection; `echo MARK` lines split the answers. Only UUIDs and fixed words go into such a
 * string: a guest name there could carry its own `;`. MARK is random per process: a guest's
 * description holding a line that looks like it would otherwise shift every answer after it.
 * Short, as the long-lived virsh reads each question a byte at a time (virshChannel.ts).
 */
const MARK = `@@${markWord(randomBytes(10))}`;
const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A batch answers for each command itself: one that failed (its `error:` on stderr) fails no other. */
export const BATCH: ExecOptions = { virshErrorsAreAnswers: true };

function batch(commands: string[]): string {
  // The trailing echo keeps the exit status 0 when the last real command failed (a guest that
  // vanished mid-refresh); a broken connection still fails before any command runs.
  return [...commands, `echo ${MARK}`].join('; ');
}

/**
 * The stdout of a batch, from the host's long-lived virsh when it has one (no process, no
 * connect); when that fails (it died, hung, lost libvirt) this round asks a virsh of its own,
 * and the channel starts afresh at its next question.
 */
async function batchStdout(host: HostContext, commands: string[], limits: { channelMs?: number; oneShotMs?: number } = {}): Promise<string> {
  if (host.virshChannel) {
    try {
      return (await host.virshChannel.ask(commands, limits.channelMs ? { timeoutMs: limits.channelMs } : {})).stdout;
    } catch {
      // Answered below by a one-shot virsh, whose error (if any) is the one worth showing.
    }
  }
  return (await virsh(host, [batch(commands)], { ...BATCH, ...(limits.oneShotMs ? { timeoutMs: limits.oneShotMs } : {}) })).stdout;
}

function splitBatch(stdout: string): string[] {
  return stdout.split(new RegExp(`^${MARK}$`, 'm')).map((s) => s.replace(/^\n/, ''));
}

function uuidLines(s: string | undefined): string[] {
  return (s ?? '')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => UUID_RE.test(l));
}

const STATES: GuestState[] = ['running', 'idle', 'paused', 'in shutdown', 'shut off', 'crashed', 'pmsuspended'];

export function parseState(text: string): GuestState {
  const word = text.trim().split('\n')[0]?.trim() ?? '';
  return (STATES as string[]).includes(word) ? (word as GuestState) : 'unknown';
}

/**
 * Every guest with its state, hardware and flags, in two questions whatever the number of guests:
 * one lists UUIDs (all, autostart, transient), one asks state and XML for all of them. Each is a
 * virsh process, or none when the host has a long-lived virsh (the console's session has one).
 * A guest that disappears between the two is left out, not reported as an error.
 */
export async function listGuests(host: HostContext): Promise<GuestRow[]> {
  return (await listGuestsWithStats(host)).guests;
}

export interface GuestsWithStats {
  guests: GuestRow[];
  /** The usage counters of every guest, asked in the same process as the list. */
  stats: UsageSample;
  /** Host CPUs (nodeinfo), for CPU % of the host; null when virsh did not say. */
  hostCpus: number | null;
  /** Host memory (nodeinfo), for the header's meters; null when virsh did not say. */
  hostMemKiB: number | null;
  /** The host's cumulative CPU times (nodecpustats), for its CPU meter; null when virsh did not say. */
  hostCpuTimes: NodeCpuTimes | null;
}

const DOMSTATS = `domstats ${DOMSTATS_GROUPS.join(' ')}`;
/**
 * The refresh asks usage counters of the running guests only. A shut-off guest's say nothing the
 * console shows (its usage is none), yet cost: qemu's driver opens each of its disk images to report
 * sizes (some 16 lines a guest), and the interactive virsh writes every line on its own.
 */
const RUNNING_STATS = `domstats --list-active ${DOMSTATS_GROUPS.join(' ')}`;
/** The shut-off guests with their state, asked only by a round that lists (a steady one trusts the events). */
const SHUT_OFF_STATS = 'domstats --list-inactive --state';
/** domstats' `state.state` of a guest with no QEMU (VIR_DOMAIN_SHUTOFF): all that `--list-inactive` lists. */
const SHUT_OFF = '5';

/** The number after `CPU(s):` in `virsh nodeinfo`. */
export function parseHostCpus(text: string): number | null {
  const n = Number(text.match(/^CPU\(s\):\s*(\d+)/m)?.[1]);
  return Number.isInteger(n) && n > 0 ? n : null;
}

/** The number before KiB after `Memory size:` in `virsh nodeinfo`. */
export function parseHostMemKiB(text: string): number | null {
  const n = Number(text.match(/^Memory size:\s*(\d+)\s*KiB/m)?.[1]);
  return Number.isInteger(n) && n > 0 ? n : null;
}

/** The question of a round that lists: guests, autostart, transient, usage, the host's size and CPU times. */
const FULL_ROUND = [
  'list --all --uuid',
  `echo ${MARK}`,
  'list --all --autostart --uuid',
  `echo ${MARK}`,
  'list --all --transient --uuid',
  `echo ${MARK}`,
  RUNNING_STATS,
  `echo ${MARK}`,
  SHUT_OFF_STATS,
  `echo ${MARK}`,
  'nodeinfo',
  `echo ${MARK}`,
  'nodecpustats',
];

/**
 * A trusted round's question (guestMemo.ts): domstats names every running guest, which the memo
 * maps to UUIDs; the shut-off ones are those the memo knows shut off, as no event said otherwise
 * (a define, an undefine, a start are all events, as is a redefinition, which the memo trusts
 * already). So the guest and transient lists, the shut-off guests' states and nodeinfo are left
 * out. Autostart is asked every round: libvirt sends no event when it is switched.
 */
const STEADY_ROUND = ['list --all --autostart --uuid', `echo ${MARK}`, RUNNING_STATS, `echo ${MARK}`, 'nodecpustats'];

/** What a steady round left to a listing one when its domstats did not match what the memo knows. */
const LISTS_ONLY = ['list --all --uuid', `echo ${MARK}`, 'list --all --transient --uuid', `echo ${MARK}`, SHUT_OFF_STATS, `echo ${MARK}`, 'nodeinfo'];

/** The remembered row when autostart and persistence are unchanged (the same object: nothing to redraw), else a new one. */
function rowOf(k: KnownGuest, autostart: boolean, persistent: boolean): GuestRow {
  const kept = k.row;
  if (kept && kept.autostart === autostart && kept.persistent === persistent) return kept;
  k.row = toRow(k.summary, k.state, autostart, persistent);
  return k.row;
}

/**
 * Rows for every guest the memo knows, all from the memo, with the shut-off ones' remembered stats
 * added to `stats` (the running guests'); null, and `stats` left as it was, as soon as one may not
 * be reused: a running guest missing from domstats or in another state, or one domstats names
 * that the memo does not know running (the round must list instead).
 */
function rowsFromMemo(round: MemoRound, stats: Map<string, DomStatFields>, autostart: Set<string>): GuestRow[] | null {
  const known = round.guests();
  if (known.size === 0) return null;
  const rows: GuestRow[] = [];
  const shutOff: [string, DomStatFields][] = [];
  let running = 0;
  for (const [uuid, k] of known) {
    const name = k.summary.name;
    let fields = stats.get(name);
    if (fields) running++;
    else if (k.statsState === SHUT_OFF) {
      fields = round.shutOffStats.get(name);
      if (fields) shutOff.push([name, fields]);
    }
    const reused = round.reuse(uuid, fields?.['state.state']);
    if (!reused) return null;
    rows.push(rowOf(reused, autostart.has(uuid), reused.persistent));
  }
  if (running !== stats.size) return null;
  for (const [name, fields] of shutOff) stats.set(name, fields);
  return rows;
}

const uuidSet = (text: string | undefined) => new Set(uuidLines(text).map((u) => u.toLowerCase()));

const byName = (a: GuestRow, b: GuestRow) => a.name.localeCompare(b.name);

/** Each memo's guests in name order as last sorted: a steady round finds the same names. */
const lastOrder = new WeakMap<object, string[]>();
/** Each memo's last rows as the round built them, and in name order: an idle round hands in the very same rows. */
const lastSorted = new WeakMap<object, { given: GuestRow[]; sorted: GuestRow[] }>();

/**
 * `rows` in name order. Sorting a few hundred names with localeCompare was a tenth of a poll
 * round's own CPU, paid once per host on the all-hosts view; the order of the round before is
 * reused while the names are the same ones, and its result while the rows are the same objects
 * (no map of names to build).
 */
function inNameOrder(rows: GuestRow[], memo: object | null | undefined): GuestRow[] {
  const last = memo ? lastSorted.get(memo) : undefined;
  if (last && last.given.length === rows.length && rows.every((r, i) => r === last.given[i])) return last.sorted.slice();
  const given = rows.slice(); // byNameOrder may sort `rows` in place
  const sorted = byNameOrder(rows, memo);
  if (memo) lastSorted.set(memo, { given, sorted: sorted.slice() });
  return sorted;
}

function byNameOrder(rows: GuestRow[], memo: object | null | undefined): GuestRow[] {
  const before = memo ? lastOrder.get(memo) : undefined;
  if (before?.length === rows.length) {
    const named = new Map(rows.map((r) => [r.name, r]));
    const same = before.map((n) => named.get(n));
    if (named.size === rows.length && same.every((r) => r !== undefined)) return same as GuestRow[];
  }
  rows.sort(byName);
  if (memo) lastOrder.set(memo, rows.map((r) => r.name));
  return rows;
}

/**
 * listGuests plus usage counters: domstats, nodeinfo and nodecpustats ride in the first question, so nothing is
 * added. `reuseXml` (the console's periodic poll) lets a host with a long-lived virsh and a watched
 * event stream skip the XML of guests nothing says changed (guestMemo.ts), and, while nothing at
 * all was heard, the lists and nodeinfo too: its round is then one short question.
 */
export async function listGuestsWithStats(host: HostContext, now: () => number = Date.now, opts: { reuseXml?: boolean } = {}): Promise<GuestsWithStats> {
  // Taken before the first question: an event while this round runs makes the next one re-read.
  // Only a round that asks may reuse: a refresh after an action or a keypress reads afresh.
  const memo = guestMemo(host.virshChannel);
  const roundAt = Date.now();
  const round = memo?.round(roundAt);
  const reusable = opts.reuseXml ? round : undefined;
  const knownNode = reusable?.trusted ? reusable.node() : null;
  const parseStats = (text: string) => (memo ? memo.domstats.parse(text) : parseDomstats(text));

  let stats: UsageSample;
  let hostCpuTimes: NodeCpuTimes | null;
  let autostart: Set<string>;
  let allText: string | undefined;
  let transientText: string | undefined;
  let shutOffText: string;
  let nodeText: string;
  if (reusable && knownNode) {
    const [autostartText, statsText = '', cpuText = ''] = splitBatch(await batchStdout(host, STEADY_ROUND));
    stats = { at: now(), guests: parseStats(statsText) };
    hostCpuTimes = parseNodeCpuStats(cpuText);
    autostart = uuidSet(autostartText);
    const rows = rowsFromMemo(reusable, stats.guests, autostart);
    if (rows) return { guests: inNameOrder(rows, memo), stats, hostCpus: knownNode.hostCpus, hostMemKiB: knownNode.hostMemKiB, hostCpuTimes };
    [allText, transientText, shutOffText = '', nodeText = ''] = splitBatch(await batchStdout(host, LISTS_ONLY));
  } else {
    let autostartText: string | undefined;
    let statsText: string;
    let cpuText: string;
    [allText, autostartText, transientText, statsText = '', shutOffText = '', nodeText = '', cpuText = ''] = splitBatch(await batchStdout(host, FULL_ROUND));
    stats = { at: now(), guests: parseStats(statsText) };
    hostCpuTimes = parseNodeCpuStats(cpuText);
    autostart = uuidSet(autostartText);
  }
  // Rare rounds (something was heard): a plain parse, kept apart from the poll's own parser's.
  const shutOff = parseDomstats(shutOffText);
  memo?.rememberShutOff(shutOff);
  // A guest that started between the two domstats shows in neither; one that stopped, in both: its running side wins.
  for (const [name, fields] of shutOff) if (!stats.guests.has(name)) stats.guests.set(name, fields);
  const hostCpus = parseHostCpus(nodeText);
  const hostMemKiB = parseHostMemKiB(nodeText);
  memo?.rememberNode({ hostCpus, hostMemKiB, at: roundAt });
  const uuids = uuidLines(allText).map((u) => u.toLowerCase());
  memo?.keepOnly(new Set(uuids));
  if (uuids.length === 0) return { guests: [], stats, hostCpus, hostMemKiB, hostCpuTimes };
  const transient = uuidSet(transientText);
  const statsStateOf = (name: string) => stats.guests.get(name)?.['state.state'];

  const rows: GuestRow[] = [];
  const ask: string[] = [];
  for (const u of uuids) {
    const remembered = reusable?.guests().get(u);
    const known = remembered ? reusable?.reuse(u, statsStateOf(remembered.summary.name)) : null;
    if (known) {
      known.persistent = !transient.has(u);
      rows.push(rowOf(known, autostart.has(u), known.persistent));
    } else ask.push(u);
  }
  if (ask.length > 0) {
    const details = await batchStdout(
      host,
      ask.map((u) => `echo ${MARK}; domstate --domain ${u}; dumpxml --domain ${u}`),
      // A warm virsh answers in well under a millisecond a guest; a process of its own needs more.
      { channelMs: 15_000 + ask.length * 25, oneShotMs: 60_000 + ask.length * 500 },
    );
    const chunks = splitBatch(details).slice(1, ask.length + 1);
    chunks.forEach((chunk, i) => {
      const xmlStart = chunk.indexOf('<domain');
      if (xmlStart < 0) return; // gone between the two calls
      const summary = summarizeDomainXml(chunk.slice(xmlStart));
      const uuid = (ask[i] ?? summary.uuid).toLowerCase();
      const state = parseState(chunk.slice(0, xmlStart));
      const known: KnownGuest = { summary, state, statsState: statsStateOf(summary.name), at: roundAt, persistent: !transient.has(uuid) };
      rows.push(rowOf(known, autostart.has(uuid), known.persistent));
      memo?.remember(uuid, known);
    });
  }
  return { guests: inNameOrder(rows, memo), stats, hostCpus, hostMemKiB, hostCpuTimes };
}

/**
 * What `virtdeck top` asks each interval: every guest's counters and the host's CPU times, in one
 * question (one process), so the host's CPU % comes from the same moment as the guests'.
 */
export async function usageSample(host: HostContext, now: () => number = Date.now): Promise<{ stats: UsageSample; hostCpuTimes: NodeCpuTimes | null }> {
  const [statsText = '', cpuText = ''] = splitBatch(await batchStdout(host, [DOMSTATS, `echo ${MARK}`, 'nodecpustats']));
  return { stats: { at: now(), guests: parseDomstats(statsText) }, hostCpuTimes: parseNodeCpuStats(cpuText) };
}

export async function hostCpuCount(host: HostContext): Promise<number | null> {
  return parseHostCpus((await virsh(host, ['nodeinfo'])).stdout);
}

function toRow(s: DomainSummary, state: GuestState, autostart: boolean, persistent: boolean): GuestRow {
  return { ...s, id: isActive(state) ? s.id : null, state, autostart, persistent };
}

export async function versions(host: HostContext): Promise<HostVersions> {
  const r = await virsh(host, [batch(['version', `echo ${MARK}`, 'hostname'])], BATCH);
  const [versionText = '', hostnameText = ''] = splitBatch(r.stdout);
  return {
    libvirt: versionText.match(/^Using library: libvirt (\S+)/m)?.[1] ?? 'unknown',
    hypervisor: versionText.match(/^Running hypervisor: (.+)$/m)?.[1]?.trim() ?? 'unknown',
    hostname: hostnameText.trim() || host.name,
  };
}

export async function dumpXml(host: HostContext, name: string, opts: { inactive?: boolean } = {}): Promise<string> {
  const r = await virsh(host, ['dumpxml', '--domain', name, ...(opts.inactive ? ['--inactive'] : [])]);
  return r.stdout;
}

/**
 * Defines (or redefines) a guest. virsh reads a file, and /dev/stdin is not one here (Node's
 * stdio pipes are sockets), so the XML goes through a private temp file removed afterwards.
 * virsh runs on this machine even for a remote URI, so a local file serves both.
 */
export async function defineXml(host: HostContext, xml: string, opts: { validate?: boolean } = {}): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'virtdeck-define-'));
  try {
    const file = join(dir, 'domain.xml');
    await writeFile(file, xml, { mode: 0o600 });
    await virsh(host, ['define', '--file', file, ...(opts.validate ? ['--validate'] : [])]);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function domainCommand(command: string, extra: string[] = []) {
  return async (host: HostContext, name: string): Promise<void> => {
    await virsh(host, [command, '--domain', name, ...extra]);
  };
}

export const start = domainCommand('start');
/** Asks the guest to power off (ACPI); a guest without an OS or ACPI support ignores it. */
export const shutdown = domainCommand('shutdown');
/** Pulls the plug. */
export const destroy = domainCommand('destroy');
export const reboot = domainCommand('reboot');
export const suspend = domainCommand('suspend');
export const resume = domainCommand('resume');

export async function setAutostart(host: HostContext, name: string, on: boolean): Promise<void> {
  await virsh(host, ['autostart', '--domain', name, ...(on ? [] : ['--disable'])]);
}

/**
 * Never with --remove-all-storage: it removes only storage-pool volumes, and for a plain file it
 * prints an error yet exits 0 (jobs/guestDelete.ts removes the files itself).
 */
export async function undefine(host: HostContext, name: string, opts: { nvram?: boolean } = {}): Promise<void> {
  await virsh(host, ['undefine', '--domain', name, ...(opts.nvram ? ['--nvram'] : [])]);
}

export async function domState(host: HostContext, name: string): Promise<GuestState> {
  const r = await virsh(host, ['domstate', '--domain', name]);
  return parseState(r.stdout);
}

const POLL_MS = 500;

function cancelled(command: string[]): HostError {
  return new HostError({
    sentence: 'The operation was cancelled.',
    fix: 'Nothing to do; start it again when ready.',
    command,
    stderr: '',
    code: 'cancelled',
  });
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
  });
}

/** Waits for shut off after an ACPI shutdown; resolves false when the timeout passes. */
export async function waitForState(
  host: HostContext,
  name: string,
  state: GuestState,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (signal?.aborted) throw cancelled(virshArgv(host, ['domstate', '--domain', name]));
    if ((await domState(host, name)) === state) return true;
    const left = deadline - Date.now();
    if (left <= 0) return false;
    await sleep(Math.min(POLL_MS, left), signal);
  }
}

/** The VNC display ("127.0.0.1:0", ":1"), or null when the guest has none. */
export async function vncDisplay(host: HostContext, name: string): Promise<string | null> {
  const r = await virsh(host, ['vncdisplay', '--domain', name]);
  return r.stdout.trim() || null;
}

export async function listNetworks(host: HostContext): Promise<NetworkInfo[]> {
  const r = await virsh(host, ['net-list', '--all', '--uuid']);
  const uuids = uuidLines(r.stdout);
  if (uuids.length === 0) return [];
  const info = await virsh(host, [batch(uuids.map((u) => `echo ${MARK}; net-info --network ${u}`))], BATCH);
  return splitBatch(info.stdout)
    .slice(1, uuids.length + 1)
    .map((chunk) => ({
      name: chunk.match(/^Name:\s*(.+)$/m)?.[1]?.trim() ?? '',
      active: chunk.match(/^Active:\s*(\S+)/m)?.[1] === 'yes',
      bridge: chunk.match(/^Bridge:\s*(\S+)/m)?.[1] ?? null,
    }))
    .filter((n) => n.name !== '')
    .sort((a, b) => a.name.localeCompare(b.name));
}

/** Linux bridges on the host: every bridge is a virtual device with a `bridge` directory in sysfs. */
export async function listBridges(host: HostContext): Promise<string[]> {
  const r = await host.sysExec.run(['find', '/sys/devices/virtual/net', '-mindepth', '2', '-maxdepth', '2', '-name', 'bridge']);
  return r.stdout
    .split('\n')
    .map((l) => l.trim().split('/').slice(-2)[0] ?? '')
    .filter(Boolean)
    .sort();
}

export async function nodeMemoryKiB(host: HostContext): Promise<number> {
  const r = await virsh(host, ['nodeinfo']);
  const m = r.stdout.match(/^Memory size:\s*(\d+)\s*KiB/m);
  if (!m) throw new HostError({ sentence: 'virsh nodeinfo did not report the host memory.', fix: 'Run `virsh nodeinfo` by hand to see what it prints.', command: virshArgv(host, ['nodeinfo']), stderr: r.stdout });
  return Number(m[1]);
}

/**
 * Starts `virsh event --all --loop` and calls onEvent per line; returns a stop function.
 * onEnd hears when the watcher ends by itself (libvirtd restarted, connection lost), not on stop.
 */
export function watchEvents(host: HostContext, onEvent: (line: string) => void, onEnd?: (error: HostError | null) => void): () => void {
  const controller = new AbortController();
  // While this stream runs, the refresh may reuse what it read of a guest's XML (guestMemo.ts).
  const memo = guestMemo(host.virshChannel);
  memo?.watchStarted(Date.now());
  let pending = '';
  const emit = (chunk: string) => {
    pending += chunk;
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) {
      if (!line.trim()) continue;
      memo?.changed();
      onEvent(line.trim());
    }
  };
  virsh(host, ['event', '--all', '--loop'], { timeoutMs: 0, signal: controller.signal, onStdout: emit }).then(
    () => {
      memo?.watchEnded();
      if (!controller.signal.aborted) onEnd?.(null);
    },
    (e: unknown) => {
      memo?.watchEnded();
      if (!controller.signal.aborted) onEnd?.(e instanceof HostError ? e : null);
    },
  );
  return () => {
    memo?.watchEnded();
    controller.abort();
  };
}

/** The argv the UI hands the terminal to for a guest's serial console (leave with Ctrl+]). */
export function consoleArgv(host: HostContext, name: string): string[] {
  return virshArgv(host, ['console', '--domain', name]);
}

/** libvirt's per-guest QEMU log: the system daemon logs under /var/log, a session one under ~/.cache. */
export function qemuLogPath(name: string, uri = 'qemu:///system', home = process.env.HOME ?? '/root'): string {
  return /\/session\b/.test(uri) ? `${home}/.cache/libvirt/qemu/log/${name}.log` : `/var/log/libvirt/qemu/${name}.log`;
}

/** The last lines of a guest's QEMU log, read on the host that runs the guest (sysExec is ssh for a remote one). */
export async function readQemuLog(host: HostContext, name: string, lines = 50): Promise<string> {
  const r = await host.sysExec.run(['tail', '-n', String(lines), qemuLogPath(name, host.uri)]);
  return r.stdout;
}
