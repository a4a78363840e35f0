/**
 * How the backup commands (restore, instant, finish, discard) draw a job on stdout: one line per
 * step, a progress line redrawn in place on a terminal, and what an undo does on stderr (even with
 * --json, whose stdout carries only the JSON).
 */
import type { RunnerEvent } from '../../jobs/runner.js';
import { formatProgressLine } from '../../model/progress.js';
import { shown } from '../../model/shown.js';
import { asciiOnly } from '../output.js';
import type { GuestCommandContext } from './guest.js';

export function stepPrinter(ctx: GuestCommandContext, also?: (e: RunnerEvent) => void): (e: RunnerEvent) => void {
  const tty = Boolean(process.stdout.isTTY) && !ctx.output.json;
  let lastDraw = 0;
  // Several steps report progress (a check, the copies); the line they draw on ends with the step.
  let drawn = false;
  return (e) => {
    if (e.type === 'undo') ctx.output.err(`  undo: ${e.title}`);
    if (ctx.output.json) return;
    if (e.type === 'step-start') ctx.output.out(`  ${e.index + 1}. ${e.step.title}`);
    else if (e.type === 'progress' && tty && (Date.now() - lastDraw > 250 || e.progress.percent >= 100)) {
      lastDraw = Date.now();
      drawn = true;
      process.stdout.write(`\r    ${shown(formatProgressLine(e.progress, 70, { ascii: asciiOnly() }))}`);
    } else if ((e.type === 'step-end' || e.type === 'step-failed') && drawn) {
      process.stdout.write('\n');
      drawn = false;
    } else also?.(e);
  };
}
