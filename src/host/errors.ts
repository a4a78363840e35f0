import { explainKnown } from '../model/knownErrors.js';

/**
 * Every failure virtdeck shows is one plain sentence, the fix, and what ran. Known messages are
 * worded by the catalog in assets/known-errors.json (src/model/knownErrors.ts).
 */
export interface HostErrorInit {
  sentence: string;
  fix: string;
  command: string[];
  stderr: string;
  exitCode?: number;
  /** Stable id of the catalog entry that matched, or 'unknown'. */
  code?: string;
  /** The ssh destination the command ran on; absent: this machine. */
  ranOn?: string;
}

export class HostError extends Error {
  readonly sentence: string;
  readonly fix: string;
  readonly command: string[];
  readonly stderr: string;
  readonly exitCode: number;
  readonly code: string;
  readonly ranOn: string | null;
  constructor(init: HostErrorInit) {
    super(`${init.sentence} ${init.fix}`);
    this.name = 'HostError';
    this.sentence = init.sentence;
    this.fix = init.fix;
    this.command = init.command;
    this.stderr = init.stderr;
    this.exitCode = init.exitCode ?? -1;
    this.code = init.code ?? 'unknown';
    this.ranOn = init.ranOn ?? null;
  }
}

/** The same error, saying the command ran over ssh on `destination`. */
export function ranOver(e: unknown, destination: string): unknown {
  if (!(e instanceof HostError) || e.ranOn) return e;
  return new HostError({ sentence: e.sentence, fix: e.fix, command: e.command, stderr: e.stderr, exitCode: e.exitCode, code: e.code, ranOn: destination });
}

/**
 * Turns a failed command's stderr into a HostError, worded by the known-error catalog
 * (assets/known-errors.json, which also holds qemu-img's own messages) when an entry matches;
 * unknown errors keep the command and its first line.
 */
export function explain(command: string[], stderr: string, exitCode: number): HostError {
  const text = stderr.trim();
  const known = explainKnown(text, { command, guest: guestInCommand(command) });
  if (known) return new HostError({ sentence: known.sentence, fix: known.fix, command, stderr: text, exitCode, code: known.id });
  const first = text.split('\n').find((l) => l.trim()) ?? `exit code ${exitCode}`;
  return new HostError({
    sentence: `${command[0] ?? 'The command'} failed: ${first.replace(/^error:\s*/i, '')}`,
    fix: 'Read the command and its output below; run it by hand to see more.',
    command,
    stderr: text,
    exitCode,
    code: 'unknown',
  });
}

function guestInCommand(command: string[]): string | null {
  const i = command.indexOf('--domain');
  return i >= 0 ? (command[i + 1] ?? null) : null;
}

/** For anything thrown: a HostError as is, other errors wrapped so the UI never shows a stack. */
export function toHostError(e: unknown, command: string[] = []): HostError {
  if (e instanceof HostError) return e;
  const msg = e instanceof Error ? e.message : String(e);
  return new HostError({ sentence: msg, fix: 'See the details; this is probably a bug in virtdeck.', command, stderr: '' });
}
