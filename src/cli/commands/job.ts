/**
 * `virtdeck job …`: the Jobs pane's headless twin. Lists the jobs of this machine's state dir,
 * shows one with its steps and commands, prints or follows its log, cancels a running worker, and
 * finishes or rolls back an interrupted job. `job run` is the detached worker's own entry.
 */
import { hostname } from 'node:os';
import type { Command } from 'commander';
import { stateDir } from '../../config/paths.js';
import { cancelJob, findJob } from '../../jobs/detached.js';
import { routeForJob } from '../../jobs/jobRoute.js';
import { followFile, type JobSummary, jobDetailLines, listJobSummaries, logPath, readLogTail, readProgress, startedText, stepText, summarizeJob } from '../../jobs/jobStatus.js';
import { Journal, type JournalRecord } from '../../jobs/journal.js';
import { processAlive } from '../../jobs/processes.js';
import { runWorker } from '../../jobs/worker.js';
import { formatProgressLine } from '../../model/progress.js';
import { shownText } from '../../model/shown.js';
import { UserError } from '../../model/userError.js';
import { asciiOnly, EXIT, type ExitCode, fitCell, type Output, streamWriter } from '../output.js';
import type { CommandKit } from './kit.js';

function summaryOf(dir: string, j: Journal): JobSummary {
  return summarizeJob(j.record as JournalRecord, readProgress(dir, j.record.id), processAlive(j.record.pid), hostname());
}

/** ID 31 · KIND 10 · STATE 11 · STEP 5 · STARTED 11 · PID 7, then the title: fits 80 columns with a short title. */
export function formatJobTable(jobs: JobSummary[], opts: { ascii?: boolean; width?: number } = {}): string {
  if (jobs.length === 0) return 'No jobs yet.\n';
  const ascii = opts.ascii ?? false;
  const width = opts.width ?? 120;
  const head = `${'ID'.padEnd(31)} ${'KIND'.padEnd(10)} ${'STATE'.padEnd(11)} ${'STEP'.padEnd(5)} ${'STARTED'.padEnd(11)} ${'PID'.padStart(7)}  TITLE`;
  const lines = [head];
  for (const j of jobs) {
    const row = `${fitCell(j.id, 31, ascii)} ${fitCell(j.kind, 10, ascii)} ${fitCell(j.state, 11, ascii)} ${stepText(j).padEnd(5)} ${fitCell(startedText(j.createdAt), 11, ascii)} ${String(j.pid).padStart(7)}  ${j.title}`;
    lines.push(row.length > width ? fitCell(row, width, ascii) : row);
    if (j.state === 'running' && j.progress) lines.push(`  ${formatProgressLine(j.progress, Math.min(width, 100) - 2, { ascii })}`);
    if (j.state === 'interrupted') lines.push(`  interrupted: virtdeck job finish ${j.id}   or   virtdeck job rollback ${j.id}`);
  }
  return `${lines.join('\n')}\n`;
}

function listCommand(out: Output, dir: string): ExitCode {
  const jobs = listJobSummaries(dir);
  if (out.json) out.out(JSON.stringify({ ok: true, jobs }, null, 2));
  else out.out(formatJobTable(jobs, { ascii: asciiOnly(), width: process.stdout.columns || 120 }).replace(/\n$/, ''));
  return EXIT.ok;
}

function showCommand(out: Output, dir: string, id: string): ExitCode {
  const j = findJob(dir, id);
  const s = summaryOf(dir, j);
  if (out.json) out.out(JSON.stringify({ ok: true, job: s, journal: j.record, progress: readProgress(dir, j.record.id) }, null, 2));
  else out.out(jobDetailLines(j.record as JournalRecord, s, routeForJob(j.record.uri)).join('\n'));
  return EXIT.ok;
}

/** Prints the log; with follow, keeps printing until the job has ended (or Ctrl-C). */
async function logCommand(out: Output, dir: string, id: string, follow: boolean): Promise<ExitCode> {
  const j = findJob(dir, id);
  const path = logPath(dir, j.record.id);
  const writeOut = streamWriter(process.stdout);
  const write = (t: string) => writeOut(shownText(t));
  if (!follow) {
    const lines = readLogTail(dir, j.record.id, 100_000);
    out.out(lines.length > 0 ? lines.join('\n') : `(job ${j.record.id} has no log yet)`);
    return EXIT.ok;
  }
  const controller = new AbortController();
  const stop = () => controller.abort();
  process.once('SIGINT', stop);
  const watching = followFile(path, 0, write, controller.signal);
  try {
    while (!controller.signal.aborted) {
      const s = summaryOf(dir, Journal.load(j.path));
      if (s.state !== 'running') break;
      await new Promise((r) => setTimeout(r, 300));
    }
  } finally {
    controller.abort();
    process.off('SIGINT', stop);
  }
  await watching;
  const end = summaryOf(dir, Journal.load(j.path));
  return end.state === 'done' || end.state === 'running' ? EXIT.ok : EXIT.failed;
}

async function resolveCommand(out: Output, dir: string, id: string, how: 'finish' | 'rollback'): Promise<ExitCode> {
  const j = findJob(dir, id);
  const s = summaryOf(dir, j);
  if (s.state !== 'interrupted') {
    throw new UserError(
      `Job ${j.record.id} is ${s.state}, not interrupted.`,
      s.state === 'running' ? `Only a job whose process is gone can be ${how === 'finish' ? 'finished' : 'rolled back'}; cancel it with virtdeck job cancel ${j.record.id}.` : 'Nothing to do.',
    );
  }
  // In this process, with the worker's bookkeeping (snapshot, log) and signals; exits like it.
  const code = await runWorker(j.record.id, { stateDir: dir, rollback: how === 'rollback' });
  const rec = Journal.load(j.path).record;
  if (out.json) out.out(JSON.stringify({ ok: code === 0, id: rec.id, state: rec.state, error: rec.error ?? null }, null, 2));
  else out.out(`Job ${rec.id}: ${rec.state}${rec.error ? ` (${rec.error})` : ''}.`);
  return code === 0 ? EXIT.ok : EXIT.failed;
}

export function registerJobCommands(program: Command, kit: CommandKit): void {
  const job = program
    .command('job')
    .description('long jobs (convert, expand, backup, import): list, follow, cancel, finish or roll back — also those started by another virtdeck')
    .addHelpText('after', kit.examples(['virtdeck job list', 'virtdeck job log 20250301T120300-convert-1a2b3c --follow', 'virtdeck job cancel 1a2b3c']));
  const dir = () => stateDir();

  job
    .command('list')
    .description('every job, newest first: kind, state, step, start time, pid and title')
    .action(() => kit.run(async (ctx) => listCommand(ctx.output, dir()))());
  job
    .command('show')
    .description("one job's steps with their states and commands")
    .argument('<id>', 'job id (or a unique part of it)')
    .action((id: string) => kit.run(async (ctx) => showCommand(ctx.output, dir(), id))());
  job
    .command('log')
    .description("print a job's log; --follow keeps printing until it ends")
    .argument('<id>', 'job id (or a unique part of it)')
    .option('-f, --follow', 'follow the log until the job ends')
    .action((id: string, o: { follow?: boolean }) => kit.run((ctx) => logCommand(ctx.output, dir(), id, Boolean(o.follow)))());
  job
    .command('cancel')
    .description('stop a running job; what it did is undone, and the command waits for that')
    .argument('<id>', 'job id (or a unique part of it)')
    .action((id: string) =>
      kit.run(async (ctx) => {
        const r = await cancelJob(dir(), id);
        if (ctx.output.json) ctx.output.out(JSON.stringify({ ok: r.state !== 'running', ...r }, null, 2));
        else ctx.output.out(r.state === 'running' ? `Asked job ${r.id} to stop; it is still undoing (virtdeck job log ${r.id} --follow).` : `Job ${r.id}: ${r.state}.`);
        return r.state === 'cancelled' || r.state === 'running' ? EXIT.ok : EXIT.failed;
      })(),
    );
  job
    .command('finish')
    .description('finish an interrupted job: the step that was cut off runs again, then the rest')
    .argument('<id>', 'job id (or a unique part of it)')
    .action((id: string) => kit.run((ctx) => resolveCommand(ctx.output, dir(), id, 'finish'))());
  job
    .command('rollback')
    .description('roll an interrupted job back: undo every step it started, newest first')
    .argument('<id>', 'job id (or a unique part of it)')
    .action((id: string) => kit.run((ctx) => resolveCommand(ctx.output, dir(), id, 'rollback'))());
  job
    .command('run', { hidden: true })
    .description('the detached worker: runs a journaled job (started by --detach and the Jobs pane)')
    .requiredOption('--id <id>', 'job id')
    .option('--rollback', 'roll the job back instead of running it')
    .action((o: { id: string; rollback?: boolean }) =>
      kit.run(async () => ((await runWorker(o.id, { stateDir: dir(), rollback: Boolean(o.rollback) })) === 0 ? EXIT.ok : EXIT.failed))(),
    );
}
