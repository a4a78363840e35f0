import { homedir } from 'node:os';
import { join } from 'node:path';

/**
 * Where virtdeck keeps its files. VIRTDECK_HOME overrides everything so tests and demos never
 * touch the real ones; root uses the system locations; everyone else follows XDG.
 */
export interface PathEnv {
  env?: NodeJS.ProcessEnv;
  uid?: number;
  home?: string;
}

function resolve(kind: 'config' | 'state', { env = process.env, uid = process.getuid?.() ?? -1, home }: PathEnv): string {
  if (env.VIRTDECK_HOME) return join(env.VIRTDECK_HOME, kind);
  if (uid === 0) return kind === 'config' ? '/etc/virtdeck' : '/var/lib/virtdeck';
  const xdg = kind === 'config' ? env.XDG_CONFIG_HOME : env.XDG_STATE_HOME;
  // XDG says relative values are invalid and must be ignored.
  if (xdg?.startsWith('/')) return join(xdg, 'virtdeck');
  const base = home ?? homedir();
  return kind === 'config' ? join(base, '.config', 'virtdeck') : join(base, '.local', 'state', 'virtdeck');
}

export function configDir(opts: PathEnv = {}): string {
  return resolve('config', opts);
}

/** Journals, the demo sandbox and other state that is not configuration. */
export function stateDir(opts: PathEnv = {}): string {
  return resolve('state', opts);
}

export function configFile(opts: PathEnv = {}): string {
  return join(configDir(opts), 'config.json');
}
