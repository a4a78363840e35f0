import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { TestProject } from 'vitest/node';

/**
 * vitest globalSetup: the CLI the tests start, bundled ONCE per vitest run (scripts/build.mjs, the
 * same single file users run, ~1 s) into a private temp dir. Started through tsx, every CLI run
 * transpiles and loads the sources again: ~1.7 s of CPU against ~0.4 s for the bundle, and the
 * integration and security tests start the CLI some hundreds of times on CI's two cores.
 */
export default function setup(project: TestProject): () => void {
  const root = resolve(import.meta.dirname, '../..');
  const dir = mkdtempSync(join(tmpdir(), 'vdtest-cli-bundle-'));
  const bundle = join(dir, 'virtdeck.js');
  execFileSync(process.execPath, [join(root, 'scripts/build.mjs'), '--outfile', bundle], { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] });
  project.provide('virtdeckBundle', bundle);
  return () => rmSync(dir, { recursive: true, force: true });
}
