/**
 * Pure: the Jobs pane's table as lines — one row per job (newest first) and, under a running job,
 * its progress bar — so the view only colours them and tests read them without Ink.
 */
import type { JobSummary } from '../../../jobs/jobStatus.js';
import { startedText, stepText } from '../../../model/jobText.js';
import { formatProgressLine } from '../../../model/progress.js';

export interface JobLine {
  key: string;
  jobId: string;
  text: string;
  kind: 'row' | 'progress' | 'note';
}

const cut = (text: string, width: number, ellipsis: string) => (text.length <= width ? text.padEnd(width) : `${text.slice(0, width - 1)}${ellipsis}`);

/** KIND 8 · STATE 11 · STEP 5 · STARTED 12 · PID 7, the title takes the rest (80 columns: 30 for it). */
export function jobHeader(width: number): string {
  return cut(`  ${'KIND'.padEnd(8)} ${'STATE'.padEnd(11)} ${'STEP'.padEnd(5)} ${'STARTED'.padEnd(12)} ${'PID'.padStart(7)}  TITLE`, width, '');
}

export function jobLines(jobs: JobSummary[], width: number, opts: { ascii: boolean; ellipsis: string; now?: Date }): JobLine[] {
  const out: JobLine[] = [];
  for (const j of jobs) {
    const lead = `${cut(j.kind, 8, opts.ellipsis)} ${cut(j.state, 11, opts.ellipsis)} ${stepText(j).padEnd(5)} ${cut(startedText(j.createdAt, opts.now), 12, opts.ellipsis)} ${String(j.pid).padStart(7)}  `;
    out.push({ key: `${j.id}:row`, jobId: j.id, kind: 'row', text: cut(lead + j.title, width - 2, opts.ellipsis) });
    const indent = ' '.repeat(11);
    if (j.state === 'running' && j.undoing) {
      out.push({ key: `${j.id}:p`, jobId: j.id, kind: 'note', text: cut(`${indent}undoing: ${j.undoing}`, width - 2, opts.ellipsis) });
    } else if (j.state === 'running' && j.progress) {
      out.push({ key: `${j.id}:p`, jobId: j.id, kind: 'progress', text: indent + formatProgressLine(j.progress, Math.max(20, width - 2 - indent.length), { ascii: opts.ascii }) });
    } else if (j.state === 'running') {
      out.push({ key: `${j.id}:p`, jobId: j.id, kind: 'note', text: cut(`${indent}${j.stepTitle}`, width - 2, opts.ellipsis) });
    }
  }
  return out;
}

/** The strip under the table: what the selected job is doing, or why it stopped, and what the keys do. */
export function jobStrip(j: JobSummary | null): string[] {
  if (!j) return ['No jobs yet. Long conversions, expansions and backups show up here, also those started', 'by another virtdeck, another SSH login or `virtdeck disk convert --detach`.'];
  const step = `step ${stepText(j)}: ${j.stepTitle}`;
  switch (j.state) {
    case 'running':
      return [`${j.title}`, `running in pid ${j.pid} on ${j.hostname}, ${step}`, 'c cancels (undoes what it did), L shows its log, Enter its steps.'];
    case 'interrupted':
      return [`${j.title}`, `interrupted: process ${j.pid} on ${j.hostname} is gone, at ${step}`, 'f finishes it (the cut-off step runs again), R rolls it back, Enter shows its steps.'];
    default:
      return [`${j.title}`, `${j.state}${j.error ? `: ${j.error}` : ''}`, 'Enter shows its steps, L its log.'];
  }
}
