import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { cliArgv } from './cli.js';

export interface CliRun {
  exitCode: number;
  stdout: string;
  stderr: string;
  ms: number;
}

/**
 * The appliance scripts/test.sh chose for the suite (tcg-appliance.sh: the PVH-booted kernel, about
 * half the CPU of a launch, and its own cache), where it chose one: without it the CLI's launches
 * boot the host's default appliance.
 */
function applianceEnv(): Record<string, string> {
  const names = ['SUPERMIN_KERNEL', 'SUPERMIN_KERNEL_VERSION', 'SUPERMIN_MODULES', 'LIBGUESTFS_CACHEDIR'];
  return Object.fromEntries(names.flatMap((n) => (process.env[n] ? [[n, process.env[n] as string]] : [])));
}

/** The real CLI (test/helpers/cli.ts), in `cwd`, with `env` on top of a minimal one (PATH, VIRTDECK_HOME). */
export async function runCli(args: string[], o: { cwd: string; env?: Record<string, string>; pathFirst?: string }): Promise<CliRun> {
  const t0 = Date.now();
  const r = await execa(...cliArgv(...args), {
    reject: false,
    cwd: o.cwd,
    extendEnv: false,
    env: {
      PATH: o.pathFirst ? `${o.pathFirst}:${process.env.PATH}` : (process.env.PATH ?? ''),
      HOME: process.env.HOME ?? '/root',
      NO_COLOR: '1',
      VIRTDECK_HOME: join(o.cwd, 'home'),
      LIBGUESTFS_BACKEND: 'direct',
      LIBGUESTFS_BACKEND_SETTINGS: 'force_tcg',
      ...applianceEnv(),
      ...o.env,
    },
    timeout: 120_000,
  });
  return { exitCode: typeof r.exitCode === 'number' ? r.exitCode : -1, stdout: String(r.stdout), stderr: String(r.stderr), ms: Date.now() - t0 };
}

/**
 * A directory of shims that write their argv to `log` (one line per word, `----` after each run)
 * and then run the real program, so a test can prove a program was never started.
 */
export function recordingShims(dir: string, programs: string[]): { bin: string; log: string; calls(): string[][] } {
  const bin = join(dir, 'shim-bin');
  const log = join(dir, 'shim-calls.log');
  mkdirSync(bin, { recursive: true });
  for (const p of programs) {
    const real = execaSyncWhich(p);
    writeFileSync(join(bin, p), `#!/bin/sh\n{ echo ${p}; printf '%s\\n' "$@"; echo ----; } >> '${log}'\nexec '${real}' "$@"\n`);
    chmodSync(join(bin, p), 0o755);
  }
  const calls = () =>
    existsSync(log)
      ? readFileSync(log, 'utf8')
          .split('----\n')
          .filter(Boolean)
          .map((c) => c.split('\n').filter((l) => l !== ''))
      : [];
  return { bin, log, calls };
}

function execaSyncWhich(program: string): string {
  for (const d of (process.env.PATH ?? '').split(':')) {
    const p = join(d, program);
    if (d && existsSync(p)) return p;
  }
  throw new Error(`${program} is not installed`);
}
