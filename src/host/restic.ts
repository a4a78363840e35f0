/**
 * restic, the copy target that deduplicates and encrypts. The password never travels in argv or
 * in an environment value: restic reads it from the file the config names (RESTIC_PASSWORD_FILE
 * holds only that path). The repository's answers are outside input: parsed with zod, with a cap
 * on their size, and snapshot paths must be what virtdeck sent (…/GUEST/RUN).
 */
import { z } from 'zod';
import type { ResticTarget } from '../model/copyTarget.js';
import { UserError } from '../model/userError.js';
import { HostError } from './errors.js';
import type { Executor } from './exec.js';

export const RESTIC_TAG = 'virtdeck';
/** A listing this large is not a virtdeck repository's (a snapshot line is ~400 bytes). */
const MAX_LISTING = 32 << 20;

export function resticEnv(t: ResticTarget): Record<string, string> {
  return { RESTIC_PASSWORD_FILE: t.passwordFile };
}

/** `restic --repo R …`; the repository is one argv word after its option, so it is never read as one. */
export function resticArgv(t: ResticTarget, args: string[]): string[] {
  return ['restic', `--repo=${t.repository}`, ...args];
}

const snapshotSchema = z.looseObject({
  id: z.string().regex(/^[0-9a-f]{8,64}$/),
  time: z.string().max(64),
  paths: z.array(z.string().max(4096)).max(16),
  tags: z.array(z.string().max(512)).max(64).optional(),
  hostname: z.string().max(256).optional(),
});
export type ResticSnapshot = z.infer<typeof snapshotSchema>;

/** Pure: `restic snapshots --json` → snapshots; anything else is a HostError-worthy null. */
export function parseSnapshots(stdout: string): ResticSnapshot[] | null {
  if (stdout.length > MAX_LISTING) return null;
  let raw: unknown;
  try {
    raw = JSON.parse(stdout.trim() || 'null');
  } catch {
    return null;
  }
  const r = z.array(snapshotSchema).max(1_000_000).safeParse(raw ?? []);
  return r.success ? r.data : null;
}

const statusSchema = z.looseObject({ message_type: z.literal('status'), total_bytes: z.number().nonnegative().optional(), bytes_done: z.number().nonnegative().optional() });
const summarySchema = z.looseObject({ message_type: z.literal('summary'), data_added: z.number().nonnegative(), snapshot_id: z.string().regex(/^[0-9a-f]{8,64}$/) });
export type BackupSummary = z.infer<typeof summarySchema>;

/** Pure: one line of `restic backup --json`. */
export function parseBackupLine(line: string): { status?: { total: number; done: number }; summary?: BackupSummary } {
  if (!line.startsWith('{') || line.length > 1 << 20) return {};
  let raw: unknown;
  try {
    raw = JSON.parse(line);
  } catch {
    return {};
  }
  const s = statusSchema.safeParse(raw);
  if (s.success) return { status: { total: s.data.total_bytes ?? 0, done: s.data.bytes_done ?? 0 } };
  const m = summarySchema.safeParse(raw);
  return m.success ? { summary: m.data } : {};
}

/** restic's own words for the failures an admin can fix, as one sentence + fix. */
export function resticFailure(t: ResticTarget, stderr: string): UserError | null {
  if (/wrong password or no key found/i.test(stderr)) {
    return new UserError(
      `The password in ${t.passwordFile} does not open the restic repository ${t.repository}.`,
      `Put the repository's password (the one given to restic init) in ${t.passwordFile}, or point passwordFile of copy target ${t.name} at the right file.`,
    );
  }
  if (/Fatal: (unable to open config file|repository does not exist)|Is there a repository at the following location/i.test(stderr)) {
    return new UserError(
      `There is no restic repository at ${t.repository}.`,
      `Create it once with RESTIC_PASSWORD_FILE=${t.passwordFile} restic init --repo ${t.repository}, or correct repository of copy target ${t.name}.`,
    );
  }
  if (/(Resolving password failed|open .*: no such file or directory|Fatal: .*password.*file)/i.test(stderr) && stderr.includes(t.passwordFile)) {
    return new UserError(`The password file ${t.passwordFile} of copy target ${t.name} cannot be read.`, 'Create it (mode 0600, the repository password on one line), or correct passwordFile in config.json.');
  }
  return null;
}

/** Runs restic for target t; known failures become UserErrors. */
export async function runRestic(
  exec: Executor,
  t: ResticTarget,
  args: string[],
  o: { signal?: AbortSignal; timeoutMs?: number; onStdout?: (s: string) => void } = {},
) {
  try {
    return await exec.run(resticArgv(t, args), { env: resticEnv(t), signal: o.signal, timeoutMs: o.timeoutMs ?? 600_000, onStdout: o.onStdout });
  } catch (e) {
    if (e instanceof HostError && e.code !== 'cancelled') {
      const known = resticFailure(t, e.stderr ?? '');
      if (known) throw known;
    }
    throw e;
  }
}

/** The repository's virtdeck snapshots. */
export async function listSnapshots(exec: Executor, t: ResticTarget, signal?: AbortSignal): Promise<ResticSnapshot[]> {
  const r = await runRestic(exec, t, ['snapshots', '--json', '--tag', RESTIC_TAG], { signal, timeoutMs: 300_000 });
  const snaps = parseSnapshots(r.stdout);
  if (!snaps) throw new HostError({ sentence: `The restic repository ${t.repository} answered with a snapshot list virtdeck cannot read.`, fix: 'Check the repository with restic check.', command: r.argv, stderr: r.stdout.slice(0, 2000) });
  return snaps;
}

/** Sends one run directory; progress from restic's status lines. Returns the snapshot id and the bytes it added. */
export async function backupRun(
  exec: Executor,
  t: ResticTarget,
  runDir: string,
  run: string,
  o: { signal?: AbortSignal; onProgress?: (done: number, total: number) => void } = {},
): Promise<{ snapshot: string; dataAdded: number }> {
  let summary: BackupSummary | null = null;
  let buf = '';
  const onLine = (line: string) => {
    const p = parseBackupLine(line.trim());
    if (p.status) o.onProgress?.(p.status.done, p.status.total);
    if (p.summary) summary = p.summary;
  };
  await runRestic(exec, t, ['backup', '--json', '--tag', RESTIC_TAG, '--tag', `run=${run}`, '--', runDir], {
    signal: o.signal,
    timeoutMs: 0,
    onStdout: (chunk) => {
      buf += chunk;
      const lines = buf.split('\n');
      buf = lines.pop() ?? '';
      if (buf.length > 1 << 20) buf = '';
      for (const l of lines) onLine(l);
    },
  });
  if (buf) onLine(buf);
  const s = summary as BackupSummary | null;
  if (!s) throw new UserError(`restic sent ${runDir} to ${t.repository} but reported no snapshot.`, 'Check the repository with restic check, then copy again.');
  return { snapshot: s.snapshot_id, dataAdded: s.data_added };
}

/** `restic check --read-data-subset`: reads back that share of the repository's data and checks it. */
export async function checkRepository(exec: Executor, t: ResticTarget, signal?: AbortSignal): Promise<void> {
  await runRestic(exec, t, ['check', `--read-data-subset=${t.checkSubset ?? '10%'}`], { signal, timeoutMs: 0 });
}

export async function forgetSnapshots(exec: Executor, t: ResticTarget, ids: string[], signal?: AbortSignal): Promise<void> {
  if (ids.length === 0) return;
  await runRestic(exec, t, ['forget', '--prune', '--', ...ids], { signal, timeoutMs: 0 });
}

export async function restoreSnapshot(exec: Executor, t: ResticTarget, id: string, targetDir: string, signal?: AbortSignal): Promise<void> {
  await runRestic(exec, t, ['restore', id, '--target', targetDir], { signal, timeoutMs: 0 });
}
