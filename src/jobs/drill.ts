/**
 * `virtdeck backup drill GUEST`: proof that the latest backup boots. The run is started as an
 * isolated instant copy under a throwaway name (instant.ts: overlays over the run, network links
 * down, the run only read), virtdeck waits for a sign of life (the first serial-console output, in
 * a log file virtdeck names itself, or a guest-agent ping), then discards the copy, whatever
 * happened, and records the result in its private state (drills.json).
 *
 * Each half is journaled by instant.ts; a drill killed while it waits leaves a recorded instant
 * copy, listed by `backup instant list` and removed by `backup instant discard`.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { stateDir as defaultStateDir } from '../config/paths.js';
import { assertTrustedDir, readTrustedFile } from '../config/trust.js';
import type { HostContext } from '../host/hostContext.js';
import { detectAccel, domainTypeFor } from '../host/kvm.js';
import { domState, virshArgv } from '../host/virsh.js';
import { type DrillResult, defaultDrillTimeout, drillFileSchema, drillName, serialEvidence, withDrill } from '../model/drill.js';
import { isActive } from '../model/guest.js';
import { UserError } from '../model/userError.js';
import { writeFileAtomic } from './atomicFile.js';
import { discardInstant, runInstant } from './instant.js';
import { findRun } from './restore.js';
import type { RunnerEvent } from './runner.js';
import { parseStateJson } from './stateSchemas.js';

export const DRILLS_FILE = 'drills.json';
const POLL_MS = 500;

/** Every recorded drill; none when the file is absent. A file not ours or not private throws (trust.ts). */
export function readDrills(stateDir: string = defaultStateDir()): DrillResult[] {
  if (!assertTrustedDir(stateDir, 'state directory')) return [];
  const text = readTrustedFile(join(stateDir, DRILLS_FILE), 'restore-drill record');
  return (text === null ? null : parseStateJson(drillFileSchema, text))?.drills ?? [];
}

export function recordDrill(stateDir: string, result: DrillResult): void {
  mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  const drills = withDrill(readDrills(stateDir), result);
  writeFileAtomic(join(stateDir, DRILLS_FILE), `${JSON.stringify({ version: 1, drills }, null, 2)}\n`, 0o600);
}

export interface DrillOptions {
  guest: string;
  dest: string;
  /** Seconds to wait for a sign of life; default by acceleration (model/drill.ts). */
  timeoutS?: number;
  /** Directory for the copy's overlays (default as for `backup instant`). */
  dir?: string;
  stateDir?: string;
  signal?: AbortSignal;
  onEvent?: (e: RunnerEvent) => void;
  /** While waiting for the boot: seconds so far, of the timeout. */
  onWait?: (elapsedS: number, timeoutS: number) => void;
}

export interface DrillOutcome extends DrillResult {
  name: string;
  timeoutS: number;
  /** Whether the throwaway copy is gone again (false: discard failed, `backup instant discard NAME`). */
  cleanedUp: boolean;
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
    function done() {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
  });
}

/** The first sign of life: serial output in LOG, or an answer from the guest agent. */
async function signOfLife(host: HostContext, name: string, log: string): Promise<string | null> {
  const serial = await host.sysExec.run(['cat', '--', log], { okExitCodes: [1] });
  const line = serial.exitCode === 0 ? serialEvidence(serial.stdout) : null;
  if (line) return `serial console: ${line}`;
  // A fixed command string: nothing of the guest's goes into it.
  const ping = await host.virshExec.run(virshArgv(host, ['qemu-agent-command', '--domain', name, '--timeout', '2', '{"execute":"guest-ping"}']), { okExitCodes: [1] });
  return ping.exitCode === 0 ? 'guest agent answered a ping' : null;
}

async function waitForBoot(host: HostContext, name: string, log: string, timeoutS: number, o: DrillOptions): Promise<{ evidence: string; bootedAt: number } | { error: string }> {
  const started = Date.now();
  for (;;) {
    if (o.signal?.aborted) return { error: 'the drill was cancelled' };
    const evidence = await signOfLife(host, name, log);
    const seconds = (Date.now() - started) / 1000;
    if (evidence) return { evidence, bootedAt: Date.now() };
    const state = await domState(host, name);
    if (!isActive(state)) return { error: `${name} stopped (${state}) before it showed any sign of booting` };
    if (seconds >= timeoutS) return { error: `${name} showed no serial-console output and no guest-agent answer within ${timeoutS} s` };
    o.onWait?.(Math.floor(seconds), timeoutS);
    await sleep(POLL_MS, o.signal);
  }
}

/**
 * Runs one drill of GUEST's newest run. Refusals before anything starts (no backups, a damaged
 * chain) are UserErrors as for `backup instant`; everything after is a recorded result.
 */
export async function runDrill(host: HostContext, o: DrillOptions): Promise<DrillOutcome> {
  const stateDir = o.stateDir ?? defaultStateDir();
  if (o.timeoutS !== undefined && !(Number.isFinite(o.timeoutS) && o.timeoutS > 0 && o.timeoutS <= 86_400)) {
    throw new UserError(`--timeout ${o.timeoutS} is not a number of seconds between 1 and 86400.`, 'Give the seconds to wait for the boot, for example --timeout 300.');
  }
  const found = await findRun(host, o.dest, o.guest, undefined, o.signal);
  const timeoutS = o.timeoutS ?? defaultDrillTimeout(domainTypeFor((await detectAccel(host.sysExec, { signal: o.signal })).accel));
  const name = drillName(o.guest, randomBytes(2).toString('hex'));
  // virtlogd writes it as root; its name is virtdeck's, never one the run suggests.
  const log = `/var/log/libvirt/qemu/${name}-serial0.log`;
  const started = Date.now();
  const base = { uri: host.uri, dest: o.dest, guest: o.guest, run: found.run.name, at: new Date(started).toISOString() };
  const copy = await runInstant(host, { guest: o.guest, dest: o.dest, run: found.run.name, asName: name, dir: o.dir, isolated: true, serialLog: log, stateDir, signal: o.signal, onEvent: o.onEvent });
  if (copy.state !== 'done') {
    if (o.signal?.aborted) throw new UserError('The drill was cancelled before the copy started; nothing is left of it.', 'Run it again when ready.');
    const result: DrillResult = { ...base, ok: false, bootSeconds: null, evidence: null, error: `the copy did not start: ${copy.error?.sentence ?? copy.state}` };
    recordDrill(stateDir, result);
    return { ...result, name, timeoutS, cleanedUp: true };
  }
  const waited = await waitForBoot(host, name, log, timeoutS, o);
  // Discarded whatever happened, cancel included (its own signal: a cancel must not stop the clean-up).
  const discard = await discardInstant(host, name, { stateDir, onEvent: o.onEvent }).catch((e: unknown) => ({ state: 'failed' as const, error: e as Error }));
  const cleanedUp = discard.state === 'done';
  if (o.signal?.aborted) {
    throw new UserError(`The drill was cancelled; ${cleanedUp ? 'its copy was discarded' : `its copy ${name} is still there`}.`, cleanedUp ? 'Run it again when ready.' : `Remove it with virtdeck backup instant discard ${name}.`);
  }
  const result: DrillResult =
    'evidence' in waited
      ? { ...base, ok: true, bootSeconds: Math.round((waited.bootedAt - started) / 100) / 10, evidence: waited.evidence, error: null }
      : { ...base, ok: false, bootSeconds: null, evidence: null, error: waited.error };
  recordDrill(stateDir, result);
  return { ...result, name, timeoutS, cleanedUp };
}
