/**
 * Every failure virtdeck shows is one plain sentence, the fix, and what ran. The catalog of
 * known libvirt/qemu messages lives in KNOWN_ERRORS; unknown errors keep the command and stderr.
 */
export interface HostErrorInit {
  sentence: string;
  fix: string;
  command: string[];
  stderr: string;
  exitCode?: number;
  /** Stable id of the catalog entry that matched, or 'unknown'. */
  code?: string;
}

export class HostError extends Error {
  readonly sentence: string;
  readonly fix: string;
  readonly command: string[];
  readonly stderr: string;
  readonly exitCode: number;
  readonly code: string;
  constructor(init: HostErrorInit) {
    super(`${init.sentence} ${init.fix}`);
    this.name = 'HostError';
    this.sentence = init.sentence;
    this.fix = init.fix;
    this.command = init.command;
    this.stderr = init.stderr;
    this.exitCode = init.exitCode ?? -1;
    this.code = init.code ?? 'unknown';
  }
}

export interface KnownError {
  code: string;
  pattern: RegExp;
  /** Receives the regexp match so the sentence can name the guest, file or bridge involved. */
  sentence: (m: RegExpMatchArray) => string;
  fix: (m: RegExpMatchArray) => string;
}

export const KNOWN_ERRORS: KnownError[] = [];

/** Turns a failed command's stderr into a HostError, using the catalog when a pattern matches. */
export function explain(command: string[], stderr: string, exitCode: number): HostError {
  const text = stderr.trim();
  for (const k of KNOWN_ERRORS) {
    const m = text.match(k.pattern);
    if (m) return new HostError({ sentence: k.sentence(m), fix: k.fix(m), command, stderr: text, exitCode, code: k.code });
  }
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

/** For anything thrown: a HostError as is, other errors wrapped so the UI never shows a stack. */
export function toHostError(e: unknown, command: string[] = []): HostError {
  if (e instanceof HostError) return e;
  const msg = e instanceof Error ? e.message : String(e);
  return new HostError({ sentence: msg, fix: 'See the details; this is probably a bug in virtdeck.', command, stderr: '' });
}
