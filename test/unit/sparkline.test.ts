import { describe, expect, test } from 'vitest';
import { toAscii } from '../../src/model/glyphs.js';
import { SPARK_ASCII, SPARK_BLOCKS, sparkline } from '../../src/model/sparkline.js';

describe('sparkline', () => {
  test('scales to the largest value in the window, in both charsets', () => {
    expect(sparkline([0, 1, 2, 3, 4, 5, 6, 7], 8, 'unicode')).toBe('▁▂▃▄▅▆▇█');
    expect(sparkline([0, 1, 2, 3, 4, 5, 6, 7], 8, 'ascii')).toBe('_.:-=+*#');
    // Absolute size does not matter: 0.07 % idling draws the same shape as 70 %.
    expect(sparkline([0, 0.01, 0.07], 3, 'unicode')).toBe('▁▂█');
    expect(sparkline([0, 10, 70], 3, 'unicode')).toBe('▁▂█');
  });

  test('the ASCII set is the glyph table side of the blocks, and has no space', () => {
    expect(SPARK_ASCII.join('')).toBe('_.:-=+*#');
    expect(toAscii(SPARK_BLOCKS.join(''))).toBe(SPARK_ASCII.join(''));
    expect(SPARK_ASCII).not.toContain(' ');
  });

  test('nulls are gaps; all zeros are the lowest level; negatives and NaN do not break it', () => {
    expect(sparkline([null, 4, null, 8], 4, 'unicode')).toBe(' ▅ █');
    expect(sparkline([null, 4, null, 8], 4, 'ascii')).toBe(' = #');
    expect(sparkline([0, 0, 0], 3, 'ascii')).toBe('___');
    expect(sparkline([null, null], 2, 'unicode')).toBe('  ');
    expect(sparkline([-5, Number.NaN, 10], 3, 'ascii')).toBe('_ #');
  });

  test('width: keeps the newest values, right-aligns fewer, and never exceeds it', () => {
    expect(sparkline([100, 0, 1, 2], 3, 'ascii')).toBe('_=#'); // 100 fell out of the window, so the scale is 2
    expect(sparkline([1, 2], 5, 'unicode')).toBe('   ▅█');
    expect(sparkline([], 4, 'unicode')).toBe('    ');
    expect(sparkline([1, 2, 3], 0, 'unicode')).toBe('');
    for (const w of [1, 7, 40]) expect(sparkline(Array.from({ length: 100 }, (_, i) => i % 9), w, 'unicode')).toHaveLength(w);
  });

  test('with a full scale (CPU: 100 %), an idle series draws low and values past it draw the top level', () => {
    expect(sparkline([0.2, 0.3, 0.2], 3, 'unicode', 100)).toBe('▁▁▁');
    expect(sparkline([0.2, 0.3, 0.2], 3, 'unicode')).toBe('▆█▆');
    expect(sparkline([50, 100, 150], 3, 'unicode', 100)).toBe('▅██');
    expect(sparkline([50, 100, 150], 3, 'ascii', 100)).toBe('=##');
  });
});
