import type { ExitCode } from '../output.js';
import type { GuestCommandContext } from './guest.js';

/** What a command group (disk, backup, snapshot…) gets to register its subcommands. */
export interface CommandKit {
  /** Wraps a command body: makes the host and output, maps errors to exit codes. */
  run: (fn: (ctx: GuestCommandContext) => Promise<ExitCode>) => () => Promise<void>;
  examples: (lines: string[]) => string;
  /** commander option collector for repeatable options. */
  collect: (value: string, previous?: string[]) => string[];
}
