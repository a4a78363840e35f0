import { describe, expect, it } from 'vitest';
import { progressPrinter } from '../../src/cli/commands/diskConvert.js';
import type { RunnerEvent } from '../../src/jobs/runner.js';
import type { PlanStep } from '../../src/model/plan.js';

const step: PlanStep = { id: 'copy', title: 'convert to qcow2', progress: { kind: 'qemu-img', totalBytes: 100 } };
const at = (index: number, percent: number): RunnerEvent => ({ type: 'progress', index, progress: { percent, bytesDone: percent, bytesTotal: 100, rateBps: null, etaSeconds: null } });

describe('progressPrinter without a terminal', () => {
  it('prints 100 % once per step, though qemu-img reports it twice', () => {
    const out: string[] = [];
    const print = progressPrinter((t) => out.push(t), { tty: false, total: 3, columns: 80, everyMs: 60_000 });
    print({ type: 'step-start', index: 1, step });
    for (const e of [at(1, 0), at(1, 40), at(1, 100), at(1, 100)]) print(e);
    print({ type: 'step-start', index: 2, step: { ...step, title: 'compare' } });
    for (const e of [at(2, 100), at(2, 100)]) print(e);
    const full = out.filter((l) => / 100% /.test(l));
    expect(full.map((l) => l.slice(0, 4))).toEqual(['2/3 ', '3/3 ']);
    // The first figure of a step, then nothing until the interval or 100 %.
    expect(out.filter((l) => / 40% /.test(l))).toEqual([]);
  });
});
