/**
 * A job with more steps than the screen has rows (an evacuation of twenty guests): the steps cut
 * to a window that fits, the running one always in it with up to two before it, and one line each
 * counting what is cut above and below. Numbers stay those of the whole job ("13/20 …").
 */
import { wrapLine } from '../../model/textWrap.js';
import { cancelQuestion, type RunView } from '../../store/jobs/runView.js';
import type { Theme } from '../theme.js';
import { runStepsHeight } from './RunSteps.js';

export interface RunWindow {
  /** The job with only the rows that fit, already numbered: draw it with RunSteps numbered={false}. */
  run: RunView;
  above: string | null;
  below: string | null;
}

export function runWindow(run: RunView, width: number, theme: Theme, room: number): RunWindow {
  const steps = run.rows.filter((r) => !r.undo).length;
  const rows = run.rows.map((r, i) => (r.undo ? r : { ...r, label: `${i + 1}/${steps} ${r.label}` }));
  const n = rows.length;
  // RunSteps draws the cancel question under the rows.
  const asking = run.asking ? wrapLine(`${cancelQuestion(run.spec)} (y/n)`, width).length : 0;
  const height = (lo: number, hi: number) => runStepsHeight({ ...run, rows: rows.slice(lo, hi) }, width, theme, false) + asking + (lo > 0 ? 1 : 0) + (hi < n ? 1 : 0);
  let lo = 0;
  let hi = n;
  if (height(lo, hi) > room) {
    const current = Math.min(Math.max(0, run.current), n - 1);
    lo = Math.max(0, current - 2);
    while (hi > current + 1 && height(lo, hi) > room) hi--;
    while (lo < current && height(lo, hi) > room) lo++;
  }
  const cut = rows.slice(0, lo);
  const failed = cut.filter((r) => r.state === 'failed').length;
  const done = cut.filter((r) => r.state === 'done').length;
  const counts = [done ? `${done} done` : '', failed ? `${failed} failed` : ''].filter(Boolean).join(', ');
  const e = theme.symbols.ellipsis;
  return {
    run: { ...run, rows: rows.slice(lo, hi) },
    above: lo > 0 ? `${e} ${lo} step(s) above${counts ? ` (${counts})` : ''}` : null,
    below: hi < n ? `${e} ${n - hi} more step(s) below` : null,
  };
}
