import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, posix } from 'node:path';
import { stateDir } from '../config/paths.js';
import { HostError } from '../host/errors.js';
import type { HostContext } from '../host/hostContext.js';
import { type AccelInfo, detectAccel } from '../host/kvm.js';
import type { Plan, PlanStep } from '../model/plan.js';
import {
  DEFAULT_DEMO_PREFIX,
  type DemoManifest,
  type DemoObserved,
  demoGuests,
  MANIFEST_NAME,
  manifestSchema,
  normalizeDir,
  type ObservedGuest,
  parseDemoPrefix,
  pathsToCheck,
  planDemo,
  planDemoReset,
  readDemoMarker,
} from './demoPlan.js';
import { runPlan } from './runner.js';

/**
 * The demo sandbox on a real host: `virtdeck --demo` makes three small guests to try every
 * screen on (ensureDemo, idempotent; PREFIXfiles' disk holds an ext4 partition with a few files,
 * for file-level restore and offline expansion), `virtdeck --demo --reset` removes exactly what it made
 * (resetDemo). Plans come from demoPlan.ts; this module observes the host and runs them with the
 * shared runner, which journals them like any other job.
 */

export { DEFAULT_DEMO_PREFIX, DEMO_GUESTS, demoGuests } from './demoPlan.js';

/** The environment variable that renames the demo guests. */
export const DEMO_PREFIX_ENV = 'VIRTDECK_DEMO_PREFIX';

/**
 * The demo's guest name prefix. VIRTDECK_DEMO_PREFIX replaces the default "demo-" (guests
 * demo-web, demo-files, demo-legacy and their disk files), so a second demo, e.g. a test run
 * next to an admin's own demo, never shares a name with it. Letters, digits, "-", "_", "." and at
 * most 32 characters; anything else is a UserError naming the variable. Empty counts as unset.
 */
export function demoPrefixFromEnv(env: NodeJS.ProcessEnv = process.env): string {
  const value = env[DEMO_PREFIX_ENV];
  return value === undefined || value === '' ? DEFAULT_DEMO_PREFIX : parseDemoPrefix(value, DEMO_PREFIX_ENV);
}

export interface DemoProgress {
  index: number;
  total: number;
  step: PlanStep;
  phase: 'start' | 'done';
}

export interface DemoOptions {
  dir?: string;
  signal?: AbortSignal;
  onProgress?: (p: DemoProgress) => void;
  /** Build and return the plan without running it (the CLI's --dry-run). */
  dryRun?: boolean;
  /** The guest name prefix; default: demoPrefixFromEnv(). */
  prefix?: string;
}

export interface DemoResult {
  dir: string;
  prefix: string;
  accel: AccelInfo;
  plan: Plan;
  /** The plan's steps; all of them ran unless dryRun. Empty: the demo was already there. */
  steps: PlanStep[];
}

export interface DemoResetResult {
  dir: string;
  prefix: string;
  plan: Plan;
  steps: PlanStep[];
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

/** Reads what exists: the guests with this prefix's demo names or in the manifest (with their
 * marker), the sandbox files and the manifest. */
export async function observeDemo(host: HostContext, dir: string, signal?: AbortSignal, prefix = DEFAULT_DEMO_PREFIX): Promise<DemoObserved> {
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
  const candidates = [...new Set([...demoGuests(prefix).map((g) => g.name), ...(manifest?.guests ?? [])])].filter((n) => present.has(n));
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

/** Runs a demo plan through the runner; a failed step is thrown as the error it had. */
async function runDemoPlan(host: HostContext, plan: Plan, opts: DemoOptions): Promise<void> {
  if (opts.dryRun || plan.steps.length === 0) return;
  const total = plan.steps.length;
  const result = await runPlan(plan, {
    host,
    stateDir: stateDir(),
    signal: opts.signal,
    onEvent: (e) => {
      if (e.type === 'step-start') opts.onProgress?.({ index: e.index, total, step: e.step, phase: 'start' });
      else if (e.type === 'step-end') opts.onProgress?.({ index: e.index, total, step: e.step, phase: 'done' });
    },
  });
  if (result.state === 'done') return;
  throw (
    result.error ??
    new HostError({ sentence: `Cancelled: ${plan.title}.`, fix: 'Run the same virtdeck --demo command again to finish it.', command: [], stderr: '', code: 'cancelled' })
  );
}

function resolvePrefix(opts: DemoOptions): string {
  return opts.prefix === undefined ? demoPrefixFromEnv() : parseDemoPrefix(opts.prefix, 'The demo prefix');
}

/**
 * The runner makes the state dir private (0700) when it writes the first journal there, and the
 * default sandbox lives inside it, where QEMU must get through. So a state dir the demo is about to
 * use is made first, enterable by others; one that already exists is left to checkReachable.
 */
function prepareLocalStateDir(host: HostContext, dir: string): void {
  if (host.sysExec.label !== 'local') return;
  const state = normalizeDir(stateDir());
  if (dir.startsWith(`${state}/`) && !existsSync(state)) {
    mkdirSync(state, { recursive: true, mode: 0o700 });
    // Search only (0711): QEMU reaches the sandbox's images, no one lists or reads the journals.
    chmodSync(state, 0o711);
  }
}

/** Makes the demo guests exist (PREFIXweb running); running it again changes nothing. */
export async function ensureDemo(host: HostContext, opts: DemoOptions = {}): Promise<DemoResult> {
  const prefix = resolvePrefix(opts);
  const dir = normalizeDir(opts.dir ?? defaultDemoDir(host));
  if (!opts.dryRun) prepareLocalStateDir(host, dir);
  const accel = await detectAccel(host.sysExec, { signal: opts.signal });
  const observed = await observeDemo(host, dir, opts.signal, prefix);
  // A private, fresh directory for the domain XML files `virsh define --file` reads.
  const xmlDir = opts.dryRun ? undefined : mkdtempSync(join(tmpdir(), 'virtdeck-demo-'));
  try {
    const plan = planDemo(observed, accel.accel, dir, { prefix, ...(xmlDir ? { xmlDir } : {}) });
    await runDemoPlan(host, plan, opts);
    return { dir, prefix, accel, plan, steps: plan.steps };
  } finally {
    if (xmlDir) rmSync(xmlDir, { recursive: true, force: true });
  }
}

/** Removes the demo guests and files made for `dir`; a user's own demo-named guest stays. */
export async function resetDemo(host: HostContext, opts: DemoOptions = {}): Promise<DemoResetResult> {
  const prefix = resolvePrefix(opts);
  const dir = normalizeDir(opts.dir ?? defaultDemoDir(host));
  const observed = await observeDemo(host, dir, opts.signal, prefix);
  const { plan, kept } = planDemoReset(observed, dir, prefix);
  await runDemoPlan(host, plan, opts);
  return { dir, prefix, plan, steps: plan.steps, kept };
}
