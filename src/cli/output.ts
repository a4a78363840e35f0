import { HostError } from '../host/errors.js';
import type { GuestRow } from '../host/virsh.js';
import { toAscii } from '../model/glyphs.js';
import { ranText } from '../model/ranText.js';
import { shownText, terminalSafeJson } from '../model/shown.js';
import { kibToHuman } from '../model/units.js';
import { UserError } from '../model/userError.js';
import { Interrupted } from './interrupt.js';

/**
 * What the headless commands print and how they exit. Scripts depend on these: exit codes and
 * the JSON shapes are the CLI's contract, the plain text is for people.
 */

export const EXIT = {
  /** Everything asked for was done. */
  ok: 0,
  /** The host refused or a command failed (HostError). */
  failed: 1,
  /** Bad usage or input: an unknown flag, a typo'd MAC, a guest that does not exist. */
  usage: 2,
  /** `guest shutdown --force-after`: the guest ignored ACPI and was forced off. */
  forced: 3,
  /** A headless job cancelled by Ctrl-C, whose undo finished (or a second Ctrl-C: left for `virtdeck recover`). */
  interrupted: 130,
  /** The same for SIGTERM. */
  terminated: 143,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

export const EXIT_CODES_HELP = `Exit codes:
    0  done
    1  the operation failed on the host (the message says what ran and why)
    2  bad usage or input: unknown option, invalid value, unknown guest
    3  guest shutdown --force-after: a guest ignored ACPI and was forced off
  130  a job cancelled by Ctrl-C (143: by SIGTERM); what it had done was undone`;

/** Where a command writes; tests pass buffers, main passes process streams. */
export interface Output {
  json: boolean;
  out(text: string): void;
  err(text: string): void;
}

/**
 * Every line a command prints passes here: plain text through shownText, so a guest's file name
 * or a .vmx value cannot command the admin's terminal; JSON exact, with the characters JSON leaves
 * raw written as \uXXXX. Where the terminal cannot draw Unicode (`ascii`: the TUI's rule), plain
 * text goes through the glyph table's ASCII side like the console's, and JSON writes every
 * non-ASCII character as \uXXXX, which keeps its values exact.
 */
export function safeOutput(json: boolean, write: { out(text: string): void; err(text: string): void }, ascii = false): Output {
  const line = (text: string) => (text.endsWith('\n') ? text : `${text}\n`);
  const plain = (text: string) => (ascii ? toAscii(shownText(text)) : shownText(text));
  const exact = (text: string) => (ascii ? asciiJson(terminalSafeJson(text)) : terminalSafeJson(text));
  return {
    json,
    out: (text) => write.out(line(json ? exact(text) : plain(text))),
    err: (text) => write.err(line(plain(text))),
  };
}

/** Non-ASCII stands only inside JSON strings, where \uXXXX (UTF-16 units) means the same. */
function asciiJson(json: string): string {
  return json.replace(/[^\u0000-\u007f]/g, (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** For progress drawn straight to a stream (it rewrites its line, so it bypasses Output): the same glyph rule. */
export function streamWriter(stream: NodeJS.WriteStream, ascii = asciiOnly()): (text: string) => boolean {
  return (text) => stream.write(ascii ? toAscii(text) : text);
}

export function processOutput(json: boolean): Output {
  return safeOutput(json, { out: (t) => process.stdout.write(t), err: (t) => process.stderr.write(t) }, asciiOnly());
}

export interface ErrorPayload {
  sentence: string;
  fix: string;
  command: string[];
  stderr: string;
  /** The ssh destination the command ran on, when it was another machine. */
  ranOn?: string;
}

/** virsh's own words for "there is no such guest": that is the admin's typo, not a host failure. */
const UNKNOWN_GUEST_RE = /failed to get domain|Domain not found|no domain with matching name/i;

export function isUnknownGuest(e: unknown): boolean {
  return e instanceof HostError && (e.code === 'no-domain' || e.code === 'unknown-guest' || UNKNOWN_GUEST_RE.test(e.stderr));
}

/** Usage errors from the argument parser carry this marker so they map to exit 2. */
export class UsageError extends UserError {}

export function exitCodeFor(e: unknown): ExitCode {
  if (e instanceof Interrupted) return e.exitCode;
  if (e instanceof UserError) return EXIT.usage;
  if (isUnknownGuest(e)) return EXIT.usage;
  return EXIT.failed;
}

export function errorPayload(e: unknown): ErrorPayload {
  if (e instanceof HostError) return { sentence: e.sentence, fix: e.fix, command: e.command, stderr: e.stderr, ...(e.ranOn ? { ranOn: e.ranOn } : {}) };
  if (e instanceof UserError) return { sentence: e.sentence, fix: e.fix, command: [], stderr: '' };
  const message = e instanceof Error ? e.message : String(e);
  return {
    sentence: message || 'Something unexpected went wrong.',
    fix: 'Run again with VIRTDECK_DEBUG=1 to see where; this is probably a bug in virtdeck.',
    command: [],
    stderr: '',
  };
}

/** "virtdeck: <sentence>\n  fix: <fix>" plus what ran, never a stack (unless VIRTDECK_DEBUG=1). */
export function formatError(e: unknown, debug = process.env.VIRTDECK_DEBUG === '1'): string {
  const p = errorPayload(e);
  const lines = [`virtdeck: ${p.sentence}`, `  fix: ${p.fix}`];
  if (p.command.length > 0) lines.push(`  ran: ${ranText(p.command, p.ranOn)}`);
  const detail = p.stderr.trim();
  if (detail && !p.sentence.includes(detail)) {
    for (const l of detail.split('\n').slice(0, 5)) lines.push(`  | ${l}`);
  }
  if (debug && e instanceof Error && e.stack) lines.push(e.stack);
  return `${lines.join('\n')}\n`;
}

export function jsonError(e: unknown): string {
  return `${JSON.stringify({ ok: false, error: errorPayload(e) }, null, 2)}\n`;
}

export function reportError(output: Output, e: unknown): ExitCode {
  if (output.json) output.out(jsonError(e));
  else output.err(formatError(e));
  return exitCodeFor(e);
}

/** Cuts to width with "…" (or "~" when the terminal cannot draw it) so columns stay aligned. */
export function fitCell(text: string, width: number, ascii = false): string {
  if (text.length <= width) return text.padEnd(width);
  return `${text.slice(0, width - 1)}${ascii ? '~' : '…'}`;
}

interface Column {
  title: string;
  width: number;
  align: 'left' | 'right';
  value: (g: GuestRow) => string;
}

function vncText(g: GuestRow): string {
  if (!g.vnc) return '-';
  return String(g.vnc.port);
}

/** 20+11+3+6+5+17+5+4 plus 7 gaps = 78 columns: fits an 80-column console with room for a margin. */
const GUEST_COLUMNS: Column[] = [
  { title: 'NAME', width: 20, align: 'left', value: (g) => g.name },
  { title: 'STATE', width: 11, align: 'left', value: (g) => g.state },
  { title: 'CPU', width: 3, align: 'right', value: (g) => String(g.vcpus) },
  { title: 'RAM', width: 6, align: 'right', value: (g) => kibToHuman(g.memoryKiB) },
  { title: 'DISKS', width: 5, align: 'right', value: (g) => String(g.disks.filter((d) => d.device === 'disk').length) },
  { title: 'MAC', width: 17, align: 'left', value: (g) => g.nics[0]?.mac ?? '-' },
  { title: 'VNC', width: 5, align: 'left', value: vncText },
  { title: 'AUTO', width: 4, align: 'left', value: (g) => (g.autostart ? 'yes' : 'no') },
];

function cell(c: Column, text: string, ascii: boolean): string {
  if (text.length > c.width) return fitCell(text, c.width, ascii);
  return c.align === 'right' ? text.padStart(c.width) : text.padEnd(c.width);
}

/** `--all-hosts`: a HOST column first (8), NAME gives up the room (12), so the line still fits 80 columns. */
const HOST_COLUMNS: Column[] = [
  { title: 'HOST', width: 8, align: 'left', value: (g) => (g as GuestRow & { host?: string }).host ?? '' },
  { ...(GUEST_COLUMNS[0] as Column), width: 12 },
  ...GUEST_COLUMNS.slice(1),
];

export function formatGuestTable(guests: (GuestRow & { host?: string })[], opts: { ascii?: boolean; hosts?: boolean } = {}): string {
  const ascii = opts.ascii ?? false;
  if (guests.length === 0) return opts.hosts ? 'No guests are defined on the hosts that answered.\n' : 'No guests are defined on this host.\n';
  const columns = opts.hosts ? HOST_COLUMNS : GUEST_COLUMNS;
  const line = (values: string[]) =>
    columns
      .map((c, i) => cell(c, values[i] ?? '', ascii))
      .join(' ')
      .trimEnd();
  const rows = [line(columns.map((c) => c.title))];
  for (const g of guests) rows.push(line(columns.map((c) => c.value(g))));
  return `${rows.join('\n')}\n`;
}

/** Plain ASCII where the locale or the Linux console cannot draw "…" (same rule as the TUI). */
export function asciiOnly(env: NodeJS.ProcessEnv = process.env): boolean {
  const locale = env.LC_ALL || env.LC_CTYPE || env.LANG || '';
  return env.TERM === 'linux' || !/utf-?8/i.test(locale);
}
