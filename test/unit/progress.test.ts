import { describe, expect, it } from 'vitest';
import {
  formatBytesOfTotal,
  formatEta,
  formatProgressLine,
  formatRate,
  type Progress,
  ProgressTracker,
  parseQemuImgProgress,
  qemuImgProgressStream,
} from '../../src/model/progress.js';

const GiB = 1024 ** 3;
const MiB = 1024 ** 2;

describe('parseQemuImgProgress', () => {
  // Real `qemu-img convert -p` stdout (QEMU 7.2): four spaces, "(NN.NN/100%)", carriage return.
  it.each([
    ['    (0.00/100%)\r', [0]],
    ['    (3.33/100%)\r    (6.67/100%)\r    (10.00/100%)\r', [3.33, 6.67, 10]],
    ['    (100.00/100%)\r    (100.00/100%)\r\n', [100, 100]],
    ['Content mismatch at offset 1048576!\n', []],
    ['    (12.5', []],
    ['(150.00/100%)', []],
  ])('%j → %j', (chunk, expected) => {
    expect(parseQemuImgProgress(chunk)).toEqual(expected);
  });

  it('keeps an unfinished update for the next chunk', () => {
    expect(parseQemuImgProgress('    (3.33/100%)\r    (6.6', true)).toEqual({ percents: [3.33], rest: '(6.6' });
    expect(parseQemuImgProgress('    (3.33/100%)\r', true)).toEqual({ percents: [3.33], rest: '' });
  });

  it('a stream joins updates split across chunks', () => {
    const seen: number[] = [];
    const feed = qemuImgProgressStream((p) => seen.push(p));
    for (const c of ['    (1.0', '0/100%)\r    (2', '.00/10', '0%)\r', '    (3.00/100%)\r']) feed(c);
    expect(seen).toEqual([1, 2, 3]);
  });
});

describe('ProgressTracker', () => {
  it('derives bytes, a rate once time has passed, and an ETA from it', () => {
    const t = new ProgressTracker(100 * MiB);
    expect(t.update(0, 0)).toEqual({ percent: 0, bytesDone: 0, bytesTotal: 100 * MiB, rateBps: null, etaSeconds: null });
    const p = t.update(0.1, 1000);
    expect(p.bytesDone).toBe(10 * MiB);
    expect(p.rateBps).toBe(10 * MiB);
    expect(p.etaSeconds).toBeCloseTo(9);
  });

  it('smooths the rate over time: a burst moves it only part of the way', () => {
    const t = new ProgressTracker(1000 * MiB, 3000);
    t.update(0, 0);
    t.update(0.01, 1000); // 10 MiB/s
    const p = t.update(0.11, 2000); // instant 100 MiB/s
    expect(p.rateBps).toBeGreaterThan(10 * MiB);
    expect(p.rateBps).toBeLessThan(50 * MiB);
    // One sample a long time later counts almost fully.
    const q = t.update(0.21, 62_000);
    expect(q.rateBps).toBeLessThan(5 * MiB);
  });

  it('clamps fractions, ignores samples at the same instant, and reports ETA 0 when done', () => {
    const t = new ProgressTracker(1000);
    t.update(-1, 0);
    expect(t.update(0.5, 0).rateBps).toBeNull();
    const done = t.update(2, 500);
    expect(done).toMatchObject({ percent: 100, bytesDone: 1000, etaSeconds: 0 });
    expect(t.updatePercent(50, 600).bytesDone).toBe(500);
    expect(t.progress.percent).toBe(50);
  });
});

describe('formatting', () => {
  it.each([
    [0, '0:00'],
    [23, '0:23'],
    [22.6, '0:23'],
    [725, '12:05'],
    [3723, '1:02:03'],
    [null, '--:--'],
    [Number.POSITIVE_INFINITY, '--:--'],
  ])('eta %s → %s', (s, text) => {
    expect(formatEta(s)).toBe(text);
  });

  it.each([
    [212 * MiB, '212 MiB/s'],
    [1.5 * GiB, '1.5 GiB/s'],
    [800, '800 B/s'],
    [9.44 * MiB, '9.4 MiB/s'],
  ])('rate %d → %s', (bps, text) => {
    expect(formatRate(bps)).toBe(text);
  });

  it.each([
    [7.6 * GiB, 12.4 * GiB, '7.6/12.4 GiB'],
    [0, 64 * MiB, '0.0/64.0 MiB'],
    [300, 512, '300/512 B'],
  ])('bytes %d of %d → %s', (d, t, text) => {
    expect(formatBytesOfTotal(d, t)).toBe(text);
  });
});

describe('formatProgressLine', () => {
  const p: Progress = { percent: 61, bytesDone: 7.6 * GiB, bytesTotal: 12.4 * GiB, rateBps: 212 * MiB, etaSeconds: 23 };

  it.each([
    [56, false, '████████████░░░░░░░░  61%  7.6/12.4 GiB  212 MiB/s  0:23'],
    [56, true, '############--------  61%  7.6/12.4 GiB  212 MiB/s  0:23'],
    // Narrower: the rate goes first, then the sizes, then the ETA; the bar shrinks last.
    [40, true, '#########------  61%  7.6/12.4 GiB  0:23'],
    [30, true, '###########--------  61%  0:23'],
    [16, true, '######-----  61%'],
    [8, true, '#--  61%'],
    [6, true, '61%'],
    [2, true, '61'],
  ])('width %d ascii=%s → %j', (width, ascii, line) => {
    const out = formatProgressLine(p, width, { ascii });
    expect(out.length).toBeLessThanOrEqual(width);
    expect(out).toBe(line);
  });

  it('caps the bar on wide terminals and shows no rate before one is known', () => {
    const out = formatProgressLine({ ...p, rateBps: null, etaSeconds: null }, 200, { ascii: true, maxBarWidth: 10 });
    expect(out).toBe('######----  61%  7.6/12.4 GiB  --:--');
  });

  it.each([0, 100])('%d %% fills none or all of the bar', (percent) => {
    const out = formatProgressLine({ ...p, percent }, 40, { ascii: true, maxBarWidth: 10 });
    expect(out.slice(0, 10)).toBe(percent === 0 ? '----------' : '##########');
  });
});
