/**
 * A row of level characters for a series of samples: the detail strip's "last minutes" of CPU,
 * disk and network. Pure, so the same numbers draw the same line in a test and on a host.
 */
import { GLYPHS } from './glyphs.js';

/** Eight levels, lowest first. The Unicode set is the block characters. */
export const SPARK_BLOCKS = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'] as const;

/**
 * The ASCII set comes from the glyph table's side of each block, so a sparkline drawn in Unicode
 * and turned ASCII at the last moment reads the same as one drawn in ASCII: `_.:-=+*#`. Its lowest
 * level is `_`, never a space, so a quiet sample stays apart from a gap.
 */
export const SPARK_ASCII = SPARK_BLOCKS.map((b) => GLYPHS[b] ?? '?');

export type SparkCharset = 'unicode' | 'ascii';

/**
 * The last `width` values, oldest on the left, right-aligned (fewer samples leave blanks on the
 * left). Each is scaled to `fullScale` when the quantity has one (CPU: 100 % of the guest's
 * vCPUs, so an idle guest draws low, not a busy-looking line), else to the largest value in that
 * window (bytes per second have no natural top: the shape is what matters). A null (no rate: the
 * first sample, a restart) is a gap; a window of zeros is all lowest level.
 */
export function sparkline(values: readonly (number | null)[], width: number, charset: SparkCharset, fullScale?: number): string {
  if (width <= 0) return '';
  const levels = charset === 'ascii' ? SPARK_ASCII : SPARK_BLOCKS;
  const window = values.slice(-width);
  const max = fullScale ?? Math.max(0, ...window.map((v) => (v !== null && Number.isFinite(v) ? v : 0)));
  const top = levels.length - 1;
  const cells = window.map((v) => {
    if (v === null || !Number.isFinite(v)) return ' ';
    const level = max > 0 ? Math.round((Math.max(0, v) / max) * top) : 0;
    return levels[Math.min(top, Math.max(0, level))] as string;
  });
  return ' '.repeat(width - window.length) + cells.join('');
}
