/**
 * The detail strip's heading: the selected guest's name, then its last minutes of CPU, disk and
 * network as sparklines. The heading rule is the strip's one row with room to spare, so the trends
 * cost the 80x24 layout no line of disks or NICs.
 */
import type { SparkCharset } from '../../model/sparkline.js';
import { sparkline } from '../../model/sparkline.js';
import type { GuestUsage } from '../../model/usage.js';
import { sortValue } from '../../model/usage.js';

/** Wider lines stop adding history: past this a sparkline is harder to read, not easier. */
export const MAX_SPARK = 60;
/** Narrower than this a sparkline says nothing; the heading is then the name alone. */
const MIN_SPARK = 4;

/** CPU is drawn against 100 % of the guest's vCPUs; disk and network against their own busiest sample. */
const SERIES: [label: string, pick: (u: GuestUsage) => number | null, fullScale?: number][] = [
  ['cpu', (u) => u.cpuPct, 100],
  ['disk', (u) => sortValue(u, 'disk')],
  ['net', (u) => sortValue(u, 'net')],
];

/**
 * "alpha · cpu ▁▂█ · disk ▁▅▂ · net ▁▁▃" within `width` columns, each sparkline as wide as fits
 * (oldest left, one sample per column). A guest with no rate in its history (shut off, or only
 * one sample so far) gets its name alone.
 */
export function trendTitle(name: string, history: readonly GuestUsage[], width: number, charset: SparkCharset, separator: string): string {
  const series = SERIES.map(([label, pick, full]) => [label, history.map(pick), full] as const);
  if (!series.some(([, values]) => values.some((v) => v !== null))) return name;
  const fixed = name.length + series.reduce((n, [label]) => n + separator.length + label.length + 1, 0);
  const each = Math.min(MAX_SPARK, Math.floor((width - fixed) / series.length));
  if (each < MIN_SPARK) return name;
  return [name, ...series.map(([label, values, full]) => `${label} ${sparkline(values, each, charset, full)}`)].join(separator);
}
