/**
 * The real guestfish reads a gfWord back as exactly one argument: hostile names echoed through a
 * guestfish script (no appliance needed for `echo`) come out unchanged and run nothing on the host.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { gfLine } from '../../src/model/guestfishWords.js';

const dir = mkdtempSync(join(tmpdir(), 'vdsec-gf-quote-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const marker = join(dir, 'owned');

const hasGuestfish = (() => {
  try {
    execFileSync('guestfish', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

/** Each text echoed between separators by one guestfish process; what it printed for each. */
function echoed(texts: string[]): string[] {
  const sep = '@@sep-9f1c@@';
  const script = texts.map((t) => `${gfLine('echo', t)}\n${gfLine('echo', sep)}\n`).join('');
  const out = execFileSync('guestfish', [], { input: script, encoding: 'utf8', env: { ...process.env, VDSEC_MARK: marker }, cwd: dir });
  return out.split(`${sep}\n`).slice(0, -1).map((s) => s.replace(/\n$/, ''));
}

describe.skipIf(!hasGuestfish)('guestfish reads gfWord as one word (real guestfish, no appliance)', () => {
  const hostile = [
    `x | touch ${marker}`,
    'x | touch $VDSEC_MARK',
    `|touch ${marker}`,
    `"; !touch ${marker}`,
    `a\n!touch ${marker}\nb`,
    `a\n<! echo '!touch ${marker}'`,
    `\\" | touch ${marker} "`,
    '~root',
    `tab\t| touch ${marker}`,
    'esc\u001b]2;title\u0007 é ☃',
  ];

  it('hostile names come back unchanged and no command ran on the host', () => {
    expect(echoed(hostile)).toEqual(hostile);
    expect(existsSync(marker)).toBe(false);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('any NUL-free text (fast-check) comes back unchanged, in one guestfish run', () => {
    const samples = fc.sample(
      fc.string({ unit: 'binary', maxLength: 40 }).map((s) => Buffer.from(s.replace(/\0/g, ''), 'utf8').toString('utf8')),
      { numRuns: 300, seed: 42 },
    );
    expect(echoed(samples)).toEqual(samples);
    expect(readdirSync(dir)).toEqual([]);
  });
});
