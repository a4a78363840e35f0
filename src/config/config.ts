import { dirname } from 'node:path';
import { z } from 'zod';
import { checkSshDestination } from '../model/sshDestination.js';
import { UserError } from '../model/userError.js';
import { configFile } from './paths.js';
import { assertTrustedDir, readTrustedFile } from './trust.js';

/** The reason a host or user cannot be given to ssh, as a zod issue (the config is root's, but a typo must not become an ssh option). */
function sshDestinationIssue(destination: string): string | null {
  try {
    checkSshDestination(destination, 'this entry');
    return null;
  } catch (e) {
    return e instanceof UserError ? e.sentence.replace(/\.$/, '') : String(e);
  }
}

const sshSchema = z.object({
  destination: z.string().min(1).refine((d) => sshDestinationIssue(d) === null, { error: (i) => sshDestinationIssue(String(i.input)) ?? 'invalid' }),
  port: z.number().int().min(1).max(65535).optional(),
  identityFile: z.string().min(1).optional(),
  /** Extra ssh -o options, e.g. ["StrictHostKeyChecking=accept-new"]. */
  options: z.array(z.string().min(1)).optional(),
});

const hostSchema = z.object({
  name: z.string().min(1),
  uri: z.string().regex(/^[a-z0-9+]+:\/\//, 'must be a libvirt URI such as qemu:///system or qemu+ssh://root@host/system'),
  ssh: sshSchema.optional(),
});

/**
 * Loose at the top level: other parts of virtdeck (backup destinations, schedules) keep their own
 * keys in the same file, and a newer file read by an older virtdeck must not be rejected.
 */
export const configSchema = z.looseObject({
  hosts: z.array(hostSchema).default([]),
  imageDirs: z.array(z.string().min(1)).default(['/var/lib/libvirt/images']),
  demoDir: z.string().min(1).optional(),
  /**
   * A group that may read backup runs and images virtdeck writes (files 0640, directories 0750
   * with that group); without it they are the running user's alone (0600, 0700).
   */
  group: z
    .string()
    .regex(/^[A-Za-z_][A-Za-z0-9_.-]{0,31}$/, 'must be a group name such as backup-readers')
    .optional(),
});

export type Config = z.infer<typeof configSchema>;
export type HostEntry = z.infer<typeof hostSchema>;

export function defaultConfig(): Config {
  return configSchema.parse({});
}

/** Pure: validates parsed JSON; `file` only names the culprit in the message. */
export function parseConfig(text: string, file: string): Config {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new UserError(
      `The config file ${file} is not valid JSON (${(e as Error).message}).`,
      `Fix the syntax, or delete the file to start again from the defaults.`,
    );
  }
  const r = configSchema.safeParse(raw);
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  const where = issue && issue.path.length > 0 ? issue.path.join('.') : 'the top level';
  throw new UserError(
    `The config file ${file} has a bad value at ${where}: ${issue?.message ?? 'invalid'}.`,
    `Edit ${file} and correct ${where}, or delete the file to start again from the defaults.`,
  );
}

/**
 * Reads the config file (a few hundred bytes, read once at start); a missing file means the
 * defaults. A config file or directory another user owns or can write is refused (config/trust.ts).
 */
export function loadConfig(file: string = configFile()): Config {
  let text: string | null;
  try {
    assertTrustedDir(dirname(file), 'config directory');
    text = readTrustedFile(file, 'config file');
    if (text === null) return defaultConfig();
  } catch (e) {
    if (e instanceof UserError) throw e;
    throw new UserError(
      `The config file ${file} cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}).`,
      'Check its permissions, or set VIRTDECK_HOME to use another directory.',
    );
  }
  return parseConfig(text, file);
}

/**
 * The reader group for what virtdeck writes, or null. A config that cannot be read (or is refused)
 * means none: the private modes are the safe side.
 */
export function configuredGroup(file: string = configFile()): string | null {
  try {
    return loadConfig(file).group ?? null;
  } catch {
    return null;
  }
}
