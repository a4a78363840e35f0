/**
 * The `backup` key of config.json: where backups go, how many are kept, when they run. The top
 * level of the config file is loose (src/config/config.ts); this key is validated here, so a typo
 * in a retention count is reported with its path instead of silently ignored.
 */
import { z } from 'zod';
import { copyTargetsSchema } from './copyTarget.js';
import { UserError } from './userError.js';

const count = z.number().int().min(0);

export const retentionSchema = z.object({
  keepLast: count.optional(),
  keepHourly: count.optional(),
  keepDaily: count.optional(),
  keepWeekly: count.optional(),
  keepMonthly: count.optional(),
  keepYearly: count.optional(),
});

export const scheduleSchema = z.looseObject({
  /** cron expression (five fields) or a systemd OnCalendar value. */
  when: z.string().min(1).optional(),
  /** Guests to back up; empty or absent = all. */
  guests: z.array(z.string().min(1)).optional(),
  destination: z.string().min(1).optional(),
  /** Force a full run every N runs (0 = never). */
  fullEvery: z.number().int().min(0).optional(),
});

export const backupConfigSchema = z.object({
  destinations: z.array(z.string().regex(/^\//, 'must be an absolute path')).default([]),
  defaultDestination: z.string().regex(/^\//, 'must be an absolute path').optional(),
  retention: retentionSchema.default({}),
  schedule: scheduleSchema.optional(),
  /** Where runs are copied offsite (`virtdeck backup copy --to NAME`). */
  copyTargets: copyTargetsSchema.default([]),
  /** Guests keeping a snapshot longer than this are flagged. */
  snapshotMaxAgeDays: z.number().positive().default(7),
});

export type BackupConfig = z.infer<typeof backupConfigSchema>;
export type RetentionConfig = z.infer<typeof retentionSchema>;

export function defaultBackupConfig(): BackupConfig {
  return backupConfigSchema.parse({});
}

/**
 * The backup settings of an already-parsed config (the whole file object); absent means the
 * defaults. `file` only names the culprit in the message.
 */
export function backupConfigOf(config: unknown, file = 'config.json'): BackupConfig {
  const raw = (config as { backup?: unknown } | null)?.backup;
  if (raw === undefined || raw === null) return defaultBackupConfig();
  const r = backupConfigSchema.safeParse(raw);
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  const where = ['backup', ...(issue?.path ?? []).map(String)].join('.');
  throw new UserError(
    `The config file ${file} has a bad value at ${where}: ${issue?.message ?? 'invalid'}.`,
    `Edit ${file} and correct ${where}, or remove the backup key to use the defaults.`,
  );
}

/**
 * The destination a command uses: the one given, else the configured default, else the only
 * configured destination; none is a UserError saying how to give one.
 */
export function resolveDestination(given: string | undefined, cfg: BackupConfig): string {
  const dest = given ?? cfg.defaultDestination ?? (cfg.destinations.length === 1 ? cfg.destinations[0] : undefined);
  if (!dest) {
    throw new UserError(
      'No backup destination was given and none is configured.',
      'Pass --dest DIR (e.g. the mount point of a backup disk), or set backup.defaultDestination in config.json.',
    );
  }
  if (!dest.startsWith('/')) {
    throw new UserError(`The backup destination ${dest} is not an absolute path.`, 'Give the full path, e.g. /mnt/backup.');
  }
  return dest.length > 1 ? dest.replace(/\/+$/, '') : dest;
}
