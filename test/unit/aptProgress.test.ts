/**
 * `npm run demo` is not silent while apt installs QEMU, libvirt and libguestfs (issue 12 item 30):
 * scripts/apt-progress.awk turns apt's status lines into one line per phase with the package count
 * and apt's percent, while apt's own output stays in the log file.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = new URL('../../', import.meta.url).pathname;
const script = join(root, 'scripts', 'apt-progress.awk');

const STATUS = [
  'dlstatus:1:0.0000:Retrieving file 1 of 4',
  'dlstatus:2:25.0000:Retrieving file 2 of 4',
  'dlstatus:3:50.0000:Retrieving file 3 of 4',
  'dlstatus:3:60.0000:Retrieving file 3 of 4',
  'dlstatus:4:75.0000:Retrieving file 4 of 4',
  'pmstatus:qemu-utils:0:Installing qemu-utils',
  'pmstatus:qemu-utils:amd64:30.5000:Unpacking qemu-utils (amd64)',
  'pmstatus:tmux:96.2:Setting up tmux (3.3a-3)',
  'pmerror:tmux:98:installed tmux package post-installation script subprocess returned error exit status 1',
  'media-change: ignored',
].join('\n');

// Debian's default awk is mawk; gawk is common too. Each one present is tried.
const awks = ['mawk', 'gawk', 'awk'].filter((a) => spawnSync('sh', ['-c', `command -v ${a}`]).status === 0);

function run(awk: string, vars: Record<string, string>): string {
  const args = [...Object.entries(vars).flatMap(([k, v]) => ['-v', `${k}=${v}`]), '-f', script];
  const r = spawnSync(awk, args, { input: `${STATUS}\n`, encoding: 'utf8' });
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  return r.stdout;
}

describe('apt progress lines', () => {
  it.each(awks)('%s: a line when a phase starts and at each quarter, its package count, and done', (awk) => {
    expect(run(awk, { total: '163', tty: '0' }).split('\n')).toEqual([
      '  downloading 163 packages:   0%  Retrieving file 1 of 4',
      '  downloading 163 packages:  25%  Retrieving file 2 of 4',
      '  downloading 163 packages:  50%  Retrieving file 3 of 4',
      '  downloading 163 packages:  75%  Retrieving file 4 of 4',
      '  downloading 163 packages: done',
      '  installing 163 packages:   0%  Installing qemu-utils',
      '  installing 163 packages:  30%  Unpacking qemu-utils (amd64)',
      '  installing 163 packages:  96%  Setting up tmux (3.3a-3)',
      '  installing 163 packages: done',
      '  apt: tmux: installed tmux package post-installation script subprocess returned error exit status 1',
      '',
    ]);
  });

  it.each(awks)('%s: on a terminal the phase line is redrawn in place, 78 columns at most', (awk) => {
    const out = run(awk, { total: '0', tty: '1' });
    const lines = out.split('\n');
    // One finished line per phase (and the error); every redraw starts with a carriage return.
    expect(lines.filter((l) => l.endsWith('done') || l.trimEnd().endsWith('done')).length).toBe(2);
    expect(out).toContain('\r  downloading packages:  60%  Retrieving file 3 of 4');
    // Redrawn lines are cut to the terminal's 78 columns (an apt error is printed whole).
    for (const piece of out.split('\r').slice(1)) expect(piece.split('\n')[0]?.length).toBeLessThanOrEqual(78);
  });

  it('setup-host.sh feeds apt-get status fd to it and keeps apt output in the log', () => {
    expect(existsSync(script)).toBe(true);
    const sh = readFileSync(join(root, 'scripts', 'setup-host.sh'), 'utf8');
    expect(sh).toMatch(/apt-get -o APT::Status-Fd=3 install .* 3>&1 >>"\$LOG" 2>&1 \|\s*\n\s*awk .*-f "\$HERE\/apt-progress\.awk"/);
    expect(sh).toContain("grep -c '^Inst '");
  });
});
