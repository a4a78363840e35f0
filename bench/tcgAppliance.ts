/**
 * What booting the libguestfs appliance's kernel through PVH (scripts/tcg-appliance.sh, which
 * scripts/test.sh uses under TCG) saves per launch: `guestfish -a /dev/null run` with the host's
 * default appliance and with the PVH one, in turn (A B A B …, so load on the machine falls on both
 * alike), each timed as a whole process tree by /usr/bin/time (user + sys: the appliance's QEMU is
 * guestfish's child). Prints the medians and the ratios PVH / default; goal: CPU ratio ≤ 0.85.
 * Run as root on a host without KVM: npx tsx bench/tcgAppliance.ts [pairs]
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { loadavg } from 'node:os';

const PAIRS = Number(process.argv[2] ?? 3);
const GOAL = 0.85;
const TCG = { LIBGUESTFS_BACKEND: 'direct', LIBGUESTFS_BACKEND_SETTINGS: 'force_tcg' };

function pvhEnv(): Record<string, string> {
  const out = execFileSync('bash', ['scripts/tcg-appliance.sh'], { encoding: 'utf8' });
  return Object.fromEntries(out.trim().split('\n').map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
}

interface Run {
  cpu: number;
  wall: number;
}

function launch(env: Record<string, string>): Run {
  const r = spawnSync('/usr/bin/time', ['-f', '@@time %U %S %e', 'guestfish', '-a', '/dev/null', 'run'], { env: { ...process.env, ...env }, encoding: 'utf8' });
  const m = /@@time (\S+) (\S+) (\S+)/.exec(r.stderr);
  if (r.status !== 0 || !m) throw new Error(`guestfish failed: ${r.stderr.slice(-500)}`);
  return { cpu: Number(m[1]) + Number(m[2]), wall: Number(m[3]) };
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
};

const pvh = { ...TCG, ...pvhEnv() };
// One of each first, not counted: builds either appliance if its cache is cold.
launch(TCG);
launch(pvh);
const a: Run[] = [];
const b: Run[] = [];
for (let i = 0; i < PAIRS; i++) {
  b.push(launch(TCG));
  a.push(launch(pvh));
}
const f = (n: number) => n.toFixed(1).padStart(6);
console.log(`${PAIRS} pairs, load average ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
console.log(`default appliance   cpu ${f(median(b.map((r) => r.cpu)))} s   wall ${f(median(b.map((r) => r.wall)))} s`);
console.log(`PVH appliance       cpu ${f(median(a.map((r) => r.cpu)))} s   wall ${f(median(a.map((r) => r.wall)))} s`);
const cpuRatio = median(a.map((r, i) => r.cpu / (b[i] as Run).cpu));
const wallRatio = median(a.map((r, i) => r.wall / (b[i] as Run).wall));
console.log(`ratio PVH / default cpu ${cpuRatio.toFixed(2)} (goal ≤ ${GOAL})   wall ${wallRatio.toFixed(2)}`);
process.exitCode = cpuRatio <= GOAL ? 0 : 1;
