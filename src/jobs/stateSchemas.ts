/**
 * The shapes of what virtdeck reads back from its state directory: journals, locks, progress
 * snapshots and the disk facts cache. Even in a directory that passed the ownership check, a file
 * is believed only in this shape (zod), so a damaged or hand-made one is refused, not half-used.
 * The journal format is unchanged: these schemas describe what Journal.create has always written.
 */
import { z } from 'zod';

const commandSchema = z.object({
  runsOn: z.enum(['virsh', 'sys']),
  argv: z.array(z.string()).min(1),
  input: z.string().optional(),
  okExitCodes: z.array(z.number().int()).optional(),
  timeoutMs: z.number().nonnegative().optional(),
});

const actionSchema = z.object({ name: z.string().min(1), args: z.unknown().optional() });

const stepSchema = z.object({
  id: z.string(),
  title: z.string(),
  command: commandSchema.optional(),
  action: actionSchema.optional(),
  writesFile: z.object({ path: z.string().min(1), content: z.string() }).optional(),
  undo: z
    .object({
      title: z.string(),
      command: commandSchema.optional(),
      action: actionSchema.optional(),
      partial: z.boolean().optional(),
    })
    .optional(),
  progress: z.object({ kind: z.literal('qemu-img'), totalBytes: z.number().nonnegative() }).optional(),
  long: z.boolean().optional(),
  finishes: z.boolean().optional(),
});

export const planSchema = z.object({
  kind: z.string().min(1),
  title: z.string(),
  targets: z.object({ guests: z.array(z.string()), images: z.array(z.string()) }),
  steps: z.array(stepSchema),
});

const stepState = z.enum(['pending', 'running', 'done', 'failed', 'undone', 'undo-failed']);
const jobState = z.enum(['running', 'done', 'failed', 'cancelled', 'rolled-back', 'rollback-failed']);

/** An ISO time: recovery prints it with toISOString, which throws on an invalid date. */
const isoTime = z.string().refine((t) => !Number.isNaN(Date.parse(t)), 'must be an ISO time');

export const journalSchema = z
  .object({
    // Names files beside the journal (ID.progress.json, ID.log): no path separators, no leading dot.
    id: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/),
    kind: z.string().min(1),
    title: z.string(),
    uri: z.string(),
    pid: z.number().int(),
    hostname: z.string(),
    createdAt: isoTime,
    updatedAt: isoTime,
    state: jobState,
    plan: planSchema,
    steps: z.array(z.object({ state: stepState, startedAt: z.string().optional(), endedAt: z.string().optional(), error: z.string().optional() })),
    params: z.unknown().optional(),
    error: z.string().optional(),
  })
  // The runner indexes one by the other; recovery also wants kind === plan.kind (recoveryGuard.ts).
  .refine((r) => r.steps.length === r.plan.steps.length, { message: 'one step record per plan step' });

export const lockSchema = z.object({
  jobId: z.string(),
  kind: z.string(),
  title: z.string(),
  pid: z.number().int(),
  startedAt: z.string(),
  target: z.object({ kind: z.enum(['guest', 'image']), name: z.string() }),
  uri: z.string(),
  pidStart: z.string().nullable(),
});

const partSchema = z.object({
  label: z.string(),
  percent: z.number(),
  bytesDone: z.number(),
  bytesTotal: z.number(),
  rateBps: z.number().nullable(),
  etaSeconds: z.number().nullable(),
});

export const progressSchema = z.object({
  id: z.string(),
  pid: z.number().int(),
  at: z.string(),
  stepIndex: z.number().int().nonnegative(),
  stepCount: z.number().int().nonnegative(),
  stepTitle: z.string(),
  progress: partSchema.omit({ label: true }).extend({ parts: z.array(partSchema).optional() }).nullable(),
  undoing: z.string().nullable(),
  final: jobState.nullable(),
});

const imageFactsSchema = z.object({
  format: z.string(),
  virtualSize: z.number(),
  actualSize: z.number().nullable(),
  clusterSize: z.number().nullable(),
  backingChain: z.array(z.string()),
  backingMissing: z.string().nullable(),
  snapshots: z.array(z.object({ name: z.string(), date: z.string(), vmStateSize: z.number() })),
  dirty: z.boolean(),
  corrupt: z.boolean(),
  compat: z.string().nullable(),
  vmdk: z.object({ createType: z.string(), adapterType: z.string().nullable(), hwVersion: z.string().nullable(), extentFiles: z.array(z.string()) }).nullable(),
  error: z.string().nullable(),
});

const checkFactsSchema = z.object({
  ok: z.boolean(),
  supported: z.boolean(),
  corruptions: z.number(),
  leaks: z.number(),
  checkErrors: z.number(),
  message: z.string(),
  at: z.string(),
});

export const diskCacheSchema = z.object({
  version: z.literal(1),
  hosts: z.record(
    z.string(),
    z.record(z.string(), z.object({ size: z.number(), mtimeMs: z.number(), facts: imageFactsSchema.optional(), check: checkFactsSchema.optional() })),
  ),
});

/** Pure: JSON text in the given shape, or null (not JSON, or not this shape). Never throws. */
export function parseStateJson<T>(schema: z.ZodType<T>, text: string): T | null {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return null;
  }
  const r = schema.safeParse(raw);
  return r.success ? r.data : null;
}
