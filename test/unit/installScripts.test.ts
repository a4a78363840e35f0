/**
 * `npm ci` on a fresh machine is quiet (issue 12 item 30): every dependency with install scripts
 * is named in package.json's allowScripts, so npm has nothing "not yet covered" to warn about.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = new URL('../../', import.meta.url).pathname;
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { allowScripts?: Record<string, boolean> };
const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8')) as { packages: Record<string, { hasInstallScript?: boolean }> };

describe('install scripts', () => {
  it('every package of the lockfile with install scripts is allowed or denied by name in allowScripts', () => {
    const withScripts = Object.entries(lock.packages)
      .filter(([, p]) => p.hasInstallScript)
      .map(([path]) => path.slice(path.lastIndexOf('node_modules/') + 'node_modules/'.length));
    expect(withScripts.length).toBeGreaterThan(0);
    for (const name of new Set(withScripts)) expect(pkg.allowScripts?.[name], `${name} in allowScripts`).toBeTypeOf('boolean');
  });

  it('npm ci --dry-run prints no install-scripts warning (when npm has the packages cached)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'vd-npmci-'));
    try {
      copyFileSync(join(root, 'package.json'), join(dir, 'package.json'));
      copyFileSync(join(root, 'package-lock.json'), join(dir, 'package-lock.json'));
      // --offline: never the network in a test; a machine without the packages cached skips this.
      const r = spawnSync('npm', ['ci', '--dry-run', '--offline', '--no-audit', '--no-fund'], { cwd: dir, encoding: 'utf8', timeout: 60_000 });
      const out = `${r.stdout}${r.stderr}`;
      if (r.status !== 0 && /ENOTCACHED|ENOENT/.test(out)) return;
      expect(r.status, out).toBe(0);
      expect(out).not.toMatch(/install-scripts/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
