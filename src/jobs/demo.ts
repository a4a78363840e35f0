import { join, posix } from 'node:path';
import { stateDir } from '../config/paths.js';
import { HostError } from '../host/errors.js';
import { type Executor, shellQuote } from '../host/exec.js';
import type { HostContext } from '../host/hostContext.js';
import { type AccelInfo, detectAccel } from '../host/kvm.js';
import {
  DEMO_GUESTS,
  type DemoManifest,
  type DemoObserved,
  type DemoStep,
  MANIFEST_NAME,
  manifestSchema,
  normalizeDir,
  type ObservedGuest,
  pathsToCheck,
  planDemo,
  planDemoReset,
  readDemoMarker,
} from './demoPlan.js';

/**
 * The demo sandbox on a real host: `virtdeck --demo` makes three small guests to try every
 * screen on (ensureDemo, idempotent), `virtdeck --demo --reset` removes exactly what it made
 * (resetDemo). Plans come from demoPlan.ts; this module only observes and runs them.
 */

export type { DemoStep } from './demoPlan.js';
export { DEMO_GUESTS } from './demoPlan.js';

export interface DemoProgress {
  index: number;
  total: number;
  step: DemoStep;
  phase: 'start' | 'done';
}

export interface DemoOptions {
  dir?: string;
  signal?: AbortSignal;
  onProgress?: (p: DemoProgress) => void;
  /** Build and return the plan without running it (the CLI's --dry-run). */
  dryRun?: boolean;
}

export interface DemoResult {
  dir: string;
  accel: AccelInfo;
  /** The steps of the plan; all of them ran unless dryRun. Empty: the demo was already there. */
  steps: DemoStep[];
}

export interface DemoResetResult {
  dir: string;
  steps: DemoStep[];
  /** Guests called like demo guests that reset left alone, with the reason. */
  kept: string[];
}

/** Where the sandbox lives unless the config or --demo-dir says otherwise. QEMU must be able to
 * reach it, which rules out most home directories; as root it is /var/lib/virtdeck/demo. */
export function defaultDemoDir(host: HostContext, configured?: string): string {
  if (configured) return configured;
  // The state dir is a path on this machine; on a remote host use the system location there.
  return host.sysExec.label === 'local' ? join(stateDir(), 'demo') : '/var/lib/virtdeck/demo';
}

function executorFor(host: HostContext, step: DemoStep): Executor {
  return step.on === 'virsh' ? host.virshExec : host.sysExec;
}

/** Reads what exists: the demo-named guests (with their marker), the sandbox files and manifest. */
export async function observeDemo(host: HostContext, dir: string, signal?: AbortSignal): Promise<DemoObserved> {
  const v = (...args: string[]) => host.virshExec.run(['virsh', '-c', host.uri, ...args], { signal });
  const sys = (argv: string[]) => host.sysExec.run(argv, { signal, okExitCodes: [1] });

  const [list, dirTest, modes] = await Promise.all([
    v('list', '--all', '--name'),
    sys(['test', '-d', dir]),
    // stat exits 1 when a component does not exist yet; the ones that do are still printed.
    sys(['stat', '-c', '%a %n', ...pathsToCheck(dir)]),
  ]);
  const dirExists = dirTest.exitCode === 0;
  const manifest = dirExists ? await readManifest(host, dir, signal) : null;
  const files = dirExists
    ? (await sys(['find', dir, '-mindepth', '1', '-maxdepth', '1', '-printf', '%f\\n'])).stdout.split('\n').filter(Boolean)
    : [];

  const present = new Set(list.stdout.split('\n').map((l) => l.trim()).filter(Boolean));
  const candidates = [...new Set([...DEMO_GUESTS.map((g) => g.name), ...(manifest?.guests ?? [])])].filter((n) => present.has(n));
  const guests: ObservedGuest[] = await Promise.all(
    candidates.map(async (name) => {
      const [xml, state] = await Promise.all([v('dumpxml', '--inactive', name), v('domstate', name)]);
      return { name, state: state.stdout.trim(), marker: readDemoMarker(xml.stdout) };
    }),
  );

  const modeMap: Record<string, string> = {};
  for (const line of modes.stdout.split('\n')) {
    const m = line.match(/^(\d+) (.+)$/);
    if (m) modeMap[m[2]!] = m[1]!;
  }
  return { uri: host.uri, guests, dirExists, files, manifest, modes: modeMap };
}

async function readManifest(host: HostContext, dir: string, signal?: AbortSignal): Promise<DemoManifest | null> {
  const path = posix.join(dir, MANIFEST_NAME);
  const r = await host.sysExec.run(['cat', '--', path], { signal, okExitCodes: [1] });
  if (r.exitCode !== 0) return null;
  let parsed: unknown;
  try {
    parsed = JSON.parse(r.stdout);
  } catch {
    parsed = undefined;
  }
  const m = manifestSchema.safeParse(parsed);
  if (m.success) return m.data;
  throw new HostError({
    sentence: `The demo manifest ${path} is damaged, so virtdeck cannot tell which files the demo made.`,
    fix: `Delete the demo guests and ${dir} by hand, or delete just the manifest and run virtdeck --demo again.`,
    command: ['cat', '--', path],
    stderr: r.stdout.slice(0, 500),
    code: 'demo-manifest',
  });
}

async function runSteps(host: HostContext, steps: DemoStep[], opts: DemoOptions): Promise<void> {
  for (const [index, step] of steps.entries()) {
    opts.onProgress?.({ index, total: steps.length, step, phase: 'start' });
    await executorFor(host, step).run(step.argv, {
      input: step.input,
      okExitCodes: step.okExitCodes,
      signal: opts.signal,
      timeoutMs: 60_000,
    });
    opts.onProgress?.({ index, total: steps.length, step, phase: 'done' });
  }
}

/** Makes the demo guests exist (demo-web running); running it again changes nothing. */
export async function ensureDemo(host: HostContext, opts: DemoOptions = {}): Promise<DemoResult> {
  const dir = normalizeDir(opts.dir ?? defaultDemoDir(host));
  const accel = await detectAccel(host.sysExec, { signal: opts.signal });
  const observed = await observeDemo(host, dir, opts.signal);
  const steps = planDemo(observed, accel.accel, dir);
  if (!opts.dryRun) await runSteps(host, steps, opts);
  return { dir, accel, steps };
}

/** Removes the demo guests and files made for `dir`; a user's own demo-named guest stays. */
export async function resetDemo(host: HostContext, opts: DemoOptions = {}): Promise<DemoResetResult> {
  const dir = normalizeDir(opts.dir ?? defaultDemoDir(host));
  const observed = await observeDemo(host, dir, opts.signal);
  const { steps, kept } = planDemoReset(observed, dir);
  if (!opts.dryRun) await runSteps(host, steps, opts);
  return { dir, steps, kept };
}

/** For display and --dry-run: a step as the command line an admin could paste. */
export function describeStep(step: DemoStep): string {
  const line = step.argv.map(shellQuote).join(' ');
  return step.input !== undefined ? `${line} < (${step.input.length} bytes of input)` : line;
}
