/**
 * Progress of long copies (qemu-img convert/compare, backups): percentages parsed from the
 * tool's output, bytes and a smoothed rate derived from them, and one line to show it.
 */
import { toAscii } from './glyphs.js';

export interface Progress {
  /** 0–100 */
  percent: number;
  bytesDone: number;
  bytesTotal: number;
  /** Smoothed bytes per second; null until two samples are apart in time. */
  rateBps: number | null;
  /** Seconds left at the smoothed rate; null while the rate is unknown. */
  etaSeconds: number | null;
  /** The same figures per part of a job that moves several things at once (each disk of a backup). */
  parts?: PartProgress[];
}

/** One part's progress ("vda"): its own bytes, rate and ETA. */
export interface PartProgress extends Omit<Progress, 'parts'> {
  label: string;
}

const QEMU_PERCENT = /\((\d{1,3}(?:\.\d+)?)\/100%\)/g;

/**
 * Percentages in one chunk of `qemu-img -p` output ("    (61.00/100%)\r"). A chunk may end in
 * the middle of an update; pass the previous call's `rest` back in front of the next chunk.
 */
export function parseQemuImgProgress(chunk: string): number[];
export function parseQemuImgProgress(chunk: string, withRest: true): { percents: number[]; rest: string };
export function parseQemuImgProgress(chunk: string, withRest?: true): number[] | { percents: number[]; rest: string } {
  const percents: number[] = [];
  let end = 0;
  for (const m of chunk.matchAll(QEMU_PERCENT)) {
    const value = Number(m[1]);
    if (value >= 0 && value <= 100) percents.push(value);
    end = (m.index ?? 0) + m[0].length;
  }
  if (!withRest) return percents;
  // Keep only an unfinished "(12.3" tail; anything else before it is noise already seen.
  const open = chunk.lastIndexOf('(');
  const rest = open >= end ? chunk.slice(open) : '';
  return { percents, rest: rest.length > 32 ? '' : rest };
}

/** Feeds chunks of a stream and calls back once per complete percentage. */
export function qemuImgProgressStream(onPercent: (percent: number) => void): (chunk: string) => void {
  let rest = '';
  return (chunk) => {
    const r = parseQemuImgProgress(rest + chunk, true);
    rest = r.rest;
    for (const p of r.percents) onPercent(p);
  };
}

/**
 * Turns fractions into bytes, rate and ETA. The rate is an exponential moving average over time
 * (not over samples), so qemu-img's bursts of 1 % steps do not make the ETA jump about.
 */
export class ProgressTracker {
  private lastTime: number | null = null;
  private lastBytes = 0;
  private rate: number | null = null;
  private current: Progress;

  /** `halfLifeMs`: how long it takes an old rate to count half as much as a new one. */
  constructor(
    private readonly totalBytes: number,
    private readonly halfLifeMs = 3_000,
  ) {
    this.current = { percent: 0, bytesDone: 0, bytesTotal: totalBytes, rateBps: null, etaSeconds: null };
  }

  /** `fraction` in 0..1 (values outside are clamped); `now` in milliseconds. */
  update(fraction: number, now: number): Progress {
    const f = Math.min(1, Math.max(0, Number.isFinite(fraction) ? fraction : 0));
    const bytesDone = Math.round(f * this.totalBytes);
    if (this.lastTime === null) {
      this.lastTime = now;
      this.lastBytes = bytesDone;
    } else if (now > this.lastTime) {
      const dt = now - this.lastTime;
      const instant = (Math.max(0, bytesDone - this.lastBytes) * 1000) / dt;
      const keep = this.rate === null ? 0 : 0.5 ** (dt / this.halfLifeMs);
      this.rate = this.rate === null ? instant : keep * this.rate + (1 - keep) * instant;
      this.lastTime = now;
      this.lastBytes = bytesDone;
    }
    const left = this.totalBytes - bytesDone;
    const etaSeconds = left <= 0 ? 0 : this.rate && this.rate > 0 ? left / this.rate : null;
    this.current = { percent: f * 100, bytesDone, bytesTotal: this.totalBytes, rateBps: this.rate, etaSeconds };
    return this.current;
  }

  /** Same as update, for tools that report percentages. */
  updatePercent(percent: number, now: number): Progress {
    return this.update(percent / 100, now);
  }

  get progress(): Progress {
    return this.current;
  }
}

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];

function unitFor(bytes: number): { div: number; unit: string } {
  let i = 0;
  while (bytes >= 1024 ** (i + 1) && i < UNITS.length - 1) i++;
  return { div: 1024 ** i, unit: UNITS[i] as string };
}

/** "7.6/12.4 GiB": both numbers in the unit of the total, so they read as a fraction. */
export function formatBytesOfTotal(done: number, total: number): string {
  const { div, unit } = unitFor(total);
  if (div === 1) return `${done}/${total} B`;
  return `${(done / div).toFixed(1)}/${(total / div).toFixed(1)} ${unit}`;
}

/** "212 MiB/s", "1.5 GiB/s", "800 B/s"; three significant figures at most. */
export function formatRate(bps: number): string {
  const { div, unit } = unitFor(bps);
  const v = bps / div;
  return `${v < 10 && div > 1 ? v.toFixed(1) : Math.round(v)} ${unit}/s`;
}

/** "0:23", "12:05", "1:02:03"; "--:--" when unknown. */
export function formatEta(seconds: number | null): string {
  if (seconds === null || !Number.isFinite(seconds) || seconds < 0) return '--:--';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${sec}` : `${m}:${sec}`;
}

export interface ProgressLineOptions {
  /** `#` and `-` instead of block characters, for consoles without them (Linux VT with a small font). */
  ascii?: boolean;
  /** The bar never grows beyond this; the rest of a wide line stays empty. */
  maxBarWidth?: number;
}

const MIN_BAR = 10;
const GAP = '  ';

/**
 * `████████████░░░░░░░░  61%  7.6/12.4 GiB  212 MiB/s  0:23`, never wider than `width`. When space
 * runs out, the rate goes first, then the sizes, then the ETA; the bar shrinks before the
 * percentage, which always stays.
 */
export function formatProgressLine(p: Progress, width: number, opts: ProgressLineOptions = {}): string {
  const [full, empty] = opts.ascii ? [toAscii('█'), toAscii('░')] : ['█', '░'];
  const pct = `${Math.floor(Math.min(100, Math.max(0, p.percent)))}%`.padStart(4);
  const sizes = formatBytesOfTotal(p.bytesDone, p.bytesTotal);
  const rate = p.rateBps === null ? '' : formatRate(p.rateBps);
  const eta = formatEta(p.etaSeconds);
  // Dropped from the front when the line is too narrow: the rate matters least, the ETA most.
  const optional = [
    { key: 'rate', text: rate },
    { key: 'sizes', text: sizes },
    { key: 'eta', text: eta },
  ].filter((o) => o.text !== '');
  const shownOrder = ['sizes', 'rate', 'eta'];
  const textOf = (kept: typeof optional) =>
    [pct, ...shownOrder.map((k) => kept.find((o) => o.key === k)?.text).filter((t): t is string => t !== undefined)].join(GAP);

  let kept = optional;
  let text = textOf(kept);
  while (kept.length > 0 && width - text.length - 1 < MIN_BAR) {
    kept = kept.slice(1);
    text = textOf(kept);
  }
  const room = width - text.length - 1;
  const barWidth = Math.min(opts.maxBarWidth ?? 40, room);
  if (barWidth < 3) return text.trimStart().slice(0, Math.max(0, width));
  const filled = Math.floor((barWidth * Math.min(100, Math.max(0, p.percent))) / 100);
  // One space: the percentage is padded to 4 columns so the line does not jitter at 10 % and 100 %.
  return `${full.repeat(filled)}${empty.repeat(barWidth - filled)} ${text}`;
}

/**
 * The lines of a progress with parts: the whole job's line, then one per part (`vda  ███░░  40% …`)
 * with the labels padded to one width. Without parts, the one line of formatProgressLine.
 */
export function formatProgressRows(p: Progress, width: number, opts: ProgressLineOptions = {}): string[] {
  const whole = formatProgressLine(p, width, opts);
  if (!p.parts || p.parts.length === 0) return [whole];
  const labelWidth = Math.min(12, Math.max(...p.parts.map((x) => x.label.length)));
  return [
    whole,
    ...p.parts.map((part) => {
      const label = part.label.length > labelWidth ? part.label.slice(0, labelWidth) : part.label.padEnd(labelWidth);
      return `${label}  ${formatProgressLine(part, Math.max(0, width - labelWidth - 2), opts)}`;
    }),
  ];
}
