import { join, resolve } from 'node:path';
import { inject } from 'vitest';

const root = resolve(import.meta.dirname, '../..');

/**
 * The command that starts the virtdeck CLI in a test: node and the bundle built for this vitest
 * run (cliBundleSetup.ts), so a test runs what users run and does not pay tsx's start-up each time.
 * Outside vitest's globalSetup (no bundle provided) the sources through tsx, as before.
 */
export function cliArgv(...args: string[]): [string, string[]] {
  const bundle = inject('virtdeckBundle');
  if (bundle) return [process.execPath, [bundle, ...args]];
  return [process.execPath, ['--import', join(root, 'node_modules/tsx/dist/loader.mjs'), join(root, 'src/cli/main.tsx'), ...args]];
}

declare module 'vitest' {
  export interface ProvidedContext {
    /** The bundle's path (cliBundleSetup.ts). */
    virtdeckBundle: string;
  }
}
