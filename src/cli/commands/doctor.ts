/**
 * `virtdeck doctor` — the Host pane's checks without the console, for cron and scripts — and
 * `virtdeck logs` — the libvirtd log or a guest's QEMU log, with the known-error catalog's
 * explanation under lines it recognises.
 */
import type { Command } from 'commander';
import type { HostContext } from '../../host/hostContext.js';
import { followLog, guestLogSource, type LogLine, libvirtdLogSource, readLog } from '../../host/logs.js';
import { runHostChecks } from '../../jobs/hostChecks.js';
import { type CheckResult, type CheckStatus, countByStatus, overallStatus } from '../../model/hostChecks.js';
import { explainKnown } from '../../model/knownErrors.js';
import { UserError } from '../../model/userError.js';
import { asciiOnly, type ExitCode, type Output } from '../output.js';
import type { CommandKit } from './kit.js';

/** The doctor's contract: 0 every check ok, 1 warnings only, 2 at least one failure. */
export const DOCTOR_EXIT: Record<CheckStatus, ExitCode> = { ok: 0, warn: 1, fail: 2 };

export const DOCTOR_EXIT_HELP = `Exit codes (doctor):
  0  every check is ok
  1  warnings only
  2  at least one check failed`;

export function statusMark(status: CheckStatus, ascii: boolean): string {
  if (ascii) return { ok: '[ok]', warn: '[!] ', fail: '[x] ' }[status];
  return { ok: '✓', warn: '⚠', fail: '✗' }[status];
}

/** Plain-text report: every check on one line, and for the ones not ok why it matters and the fix. */
export function formatDoctorReport(host: HostContext, results: CheckResult[], ascii: boolean): string {
  const lines = [`virtdeck doctor: ${host.name} (${host.uri})`, ''];
  for (const r of results) {
    lines.push(`${statusMark(r.status, ascii)} ${r.title}`);
    lines.push(`    ${r.detail}`);
    if (r.status === 'ok') continue;
    lines.push(`    why: ${r.why}`);
    for (const [i, f] of r.fix.entries()) lines.push(`    ${i === 0 ? 'fix:' : '    '} ${f}`);
    if (r.safeFix) lines.push('    (the Host pane can apply this fix: press f on it)');
  }
  const c = countByStatus(results);
  lines.push('', `${results.length} checks: ${c.ok} ok, ${c.warn} warning${c.warn === 1 ? '' : 's'}, ${c.fail} failure${c.fail === 1 ? '' : 's'}.`);
  return `${lines.join('\n')}\n`;
}

export async function doctorCommand(ctx: { host: HostContext; output: Output }): Promise<ExitCode> {
  const run = await runHostChecks(ctx.host);
  const status = overallStatus(run.results);
  if (ctx.output.json) {
    ctx.output.out(
      JSON.stringify({ ok: status === 'ok', status, counts: countByStatus(run.results), at: new Date(run.at).toISOString(), checks: run.results }, null, 2),
    );
  } else {
    ctx.output.out(formatDoctorReport(ctx.host, run.results, asciiOnly()));
  }
  return DOCTOR_EXIT[status];
}

function stamp(d: Date | null): string {
  if (!d) return '              ';
  const p = (n: number) => String(n).padStart(2, '0');
  return `${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

export function parseLines(text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1 || n > 100_000) throw new UserError(`--lines must be a whole number from 1 to 100000, not "${text}".`, 'For example: --lines 200');
  return n;
}

function printLines(output: Output, lines: LogLine[]): void {
  if (output.json) {
    for (const l of lines) {
      const known = explainKnown(l.text);
      output.out(JSON.stringify({ time: l.time?.toISOString() ?? null, text: l.text, known: known ? { id: known.id, sentence: known.sentence, fix: known.fix } : null }));
    }
    return;
  }
  for (const l of lines) {
    // The line keeps its own stamp; the time column is added only where the line has none.
    output.out(l.timeInherited ? `${stamp(l.time)}  ${l.text}` : l.text);
    const known = explainKnown(l.text);
    if (known) output.out(`    >> ${known.sentence} Fix: ${known.fix}`);
  }
}

export async function logsCommand(ctx: { host: HostContext; output: Output }, guest: string | undefined, opts: { follow: boolean; lines: number }): Promise<ExitCode> {
  const exec = ctx.host.sysExec;
  const source = guest ? guestLogSource(guest) : await libvirtdLogSource(exec);
  if (!opts.follow) {
    printLines(ctx.output, await readLog(exec, source, opts.lines));
    return 0;
  }
  return new Promise<ExitCode>((resolve, reject) => {
    const follower = followLog(
      exec,
      source,
      opts.lines,
      (lines) => printLines(ctx.output, lines),
      (error) => {
        process.off('SIGINT', stop);
        if (error) reject(error);
        else resolve(0);
      },
    );
    function stop() {
      follower.stop();
      process.off('SIGINT', stop);
      resolve(0);
    }
    process.on('SIGINT', stop);
  });
}

export function registerDoctorCommands(program: Command, kit: CommandKit): void {
  program
    .command('doctor')
    .description('check this host for virtualization problems (KVM, libvirtd, bridges, image storage, tuning, guests) and say how to fix each')
    .addHelpText('after', `${kit.examples(['virtdeck doctor', 'virtdeck doctor --json | jq -r \'.checks[] | select(.status!="ok") | .fix[]\''])}\n${DOCTOR_EXIT_HELP}\n`)
    .action(kit.run((ctx) => doctorCommand(ctx)));

  program
    .command('logs')
    .description("show the libvirtd log, or a guest's QEMU log, with explanations under known errors")
    .argument('[guest]', 'guest name: its /var/log/libvirt/qemu/GUEST.log; without it the libvirtd log')
    .option('-f, --follow', 'keep printing new lines until Ctrl-C')
    .option('-n, --lines <n>', 'how many of the last lines to show first', '100')
    .addHelpText('after', kit.examples(['virtdeck logs', 'virtdeck logs web --lines 50', 'virtdeck logs web --follow']))
    .action((guest: string | undefined, opts: { follow?: boolean; lines: string }) =>
      kit.run((ctx) => logsCommand(ctx, guest, { follow: Boolean(opts.follow), lines: parseLines(opts.lines) }))(),
    );
}
