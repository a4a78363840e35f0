/**
 * Pure: the Jobs pane's table as lines — one row per job (newest first) and, under a running job,
 * its progress bar — so the view only colours them and tests read them without Ink.
 */
import type { JobSummary } from '../../../jobs/jobStatus.js';
import { startedText, stepText } from '../../../model/jobText.js';
import { formatProgressLine } from '../../../model/progress.js';
import { shown } from '../../../model/shown.js';

export interface JobLine {
  key: string;
  jobId: string;
  text: string;
  kind: 'row' | 'progress' | 'note';
}

/** Exactly `width` columns whatever the ellipsis (ASCII's is three characters), so the columns after stay put. */
const cut = (text: string, width: number, ellipsis: string) => {
  if (text.length <= width) return text.padEnd(width);
  if (width <= ellipsis.length) return text.slice(0, width);
  return `${text.slice(0, width - ellipsis.length)}${ellipsis}`;
};

const sharedStart = (a: string, b: string) => {
  let i = 0;
  while (i < a.length && a[i] === b[i]) i++;
  return i;
};

/** Its first word, then from just before where it stops reading like `others`, cut to `width`. */
function distinguish(title: string, others: string[], width: number, ellipsis: string): string {
  const space = title.indexOf(' ');
  const head = title.slice(0, Math.min(space >= 0 ? space + 1 : 0, Math.floor(width / 2)));
  const restWidth = width - head.length - ellipsis.length;
  if (restWidth <= ellipsis.length) return cut(title, width, ellipsis).trimEnd();
  const differs = Math.max(...others.map((o) => sharedStart(title, o)));
  const from = Math.max(head.length, Math.min(differs - 4, title.length - restWidth));
  const rest = title.slice(from);
  return `${head}${ellipsis}${rest.length <= restWidth ? rest : `${rest.slice(0, restWidth - ellipsis.length)}${ellipsis}`}`;
}

/**
 * Titles as they fit `width`: cut at the end, unless that makes two different titles read the same
 * (titles of one kind start alike, "Convert /var/lib/libvirt/…", and differ further on); those
 * keep their first word and show from where they differ.
 */
export function fitTitles(titles: readonly string[], width: number, ellipsis: string): string[] {
  const atEnd = titles.map((t) => cut(t, width, ellipsis).trimEnd());
  return titles.map((t, i) => {
    const alike = titles.filter((o, k) => o !== t && atEnd[k] === atEnd[i]);
    return alike.length > 0 ? distinguish(t, alike, width, ellipsis) : (atEnd[i] ?? t);
  });
}

/** The KIND column is as wide as the longest kind listed (no two kinds cut to one word), 4 to 15. */
export function kindWidth(jobs: readonly Pick<JobSummary, 'kind'>[]): number {
  return Math.min(15, Math.max(4, ...jobs.map((j) => j.kind.length)));
}

/**
 * The host a job acts on, by the name the config file gives its URI; a URI no host entry has is
 * shown by its host part (or the URI itself). A job's URI comes from its journal: shown, not obeyed.
 */
export function jobHostName(uri: string, hosts: readonly { name: string; uri: string }[]): string {
  const named = hosts.find((h) => h.uri === uri)?.name;
  if (named) return shown(named);
  return shown(uri.match(/^[a-z0-9+]+:\/\/(?:[^@/]*@)?([^/:?]+)/i)?.[1] ?? uri);
}

/** The HOST column (with several hosts configured): as wide as the longest name listed, 4 to 8. */
export function hostWidth(names: readonly string[]): number {
  return Math.min(8, Math.max(4, ...names.map((n) => n.length)));
}

/** [HOST] · KIND (kindWidth) · STATE 11 · STEP 5 · STARTED 12 · PID 7, the title takes the rest. */
export function jobHeader(width: number, kind = 8, host = 0): string {
  return cut(`  ${host ? `${'HOST'.padEnd(host)} ` : ''}${'KIND'.padEnd(kind)} ${'STATE'.padEnd(11)} ${'STEP'.padEnd(5)} ${'STARTED'.padEnd(12)} ${'PID'.padStart(7)}  TITLE`, width, '');
}

export function jobLines(
  jobs: JobSummary[],
  width: number,
  opts: { ascii: boolean; ellipsis: string; now?: Date; host?: { of: (j: JobSummary) => string; width: number } },
): JobLine[] {
  const out: JobLine[] = [];
  const kw = kindWidth(jobs);
  const host = opts.host;
  const lead = (j: JobSummary) =>
    `${host ? `${cut(host.of(j), host.width, opts.ellipsis)} ` : ''}${cut(j.kind, kw, opts.ellipsis)} ${cut(j.state, 11, opts.ellipsis)} ${cut(stepText(j), 5, opts.ellipsis)} ${cut(startedText(j.createdAt, opts.now), 12, opts.ellipsis)} ${String(j.pid).padStart(7)}  `;
  // Every lead has the same width, so every title has the same room.
  const room = Math.max(0, width - 2 - (jobs[0] ? lead(jobs[0]).length : 0));
  const titles = fitTitles(jobs.map((j) => j.title), room, opts.ellipsis);
  for (const [i, j] of jobs.entries()) {
    out.push({ key: `${j.id}:row`, jobId: j.id, kind: 'row', text: cut(lead(j) + (titles[i] ?? ''), width - 2, opts.ellipsis) });
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
