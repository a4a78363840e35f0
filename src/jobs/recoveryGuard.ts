/**
 * What a journal may ask a later virtdeck to run. `recover --finish` and `job finish` run the
 * commands a journal holds, as root; the state directory check (config/trust.ts) keeps other users
 * from writing one, and this keeps a journal to what virtdeck's own plan builders make: a job kind
 * they know, the programs that kind's steps run, actions its registry names, and helper files
 * written only into virtdeck's private temp directories.
 */

import { RUN_DIR_SCRIPT, RUN_DIR_SCRIPT_GROUP } from '../model/backupPlan.js';
import type { CommandSpec, Plan } from '../model/plan.js';
import { shown } from '../model/shown.js';
import { UserError } from '../model/userError.js';
import { isPrivateTempPath } from './privateTemp.js';

const VIRSH = ['virsh'];
const FILES = ['rm', 'mv', 'ln', 'mkdir'];
const DEMO = ['qemu-img', 'qemu-io', 'mke2fs', 'sfdisk', 'tee', 'rmdir', ...VIRSH, ...FILES];

/** The programs each plan builder's steps and undos run (model/*Plan.ts, jobs/*.ts). */
export const PLAN_PROGRAMS: Record<string, readonly string[]> = {
  convert: ['qemu-img', 'setpriv', ...VIRSH, ...FILES],
  expand: ['qemu-img', 'setpriv', 'guestfish', 'env', ...VIRSH, ...FILES],
  backup: ['qemu-img', 'sh', ...VIRSH, ...FILES],
  'backup-restore': ['qemu-img', ...VIRSH, ...FILES],
  'backup-instant': ['qemu-img', ...VIRSH, ...FILES],
  'backup-instant-discard': [...VIRSH, ...FILES],
  'backup-instant-finish': [...VIRSH, ...FILES],
  // jobs/resticMount.ts: both steps are actions (mount; unmount and remove the staging directory).
  'restic-mount': ['restic', 'umount'],
  'import-vmware': ['qemu-img', 'setpriv', ...VIRSH, ...FILES],
  p2v: ['qemu-img', 'ssh', 'dd', 'sha256sum', 'sh', ...VIRSH, ...FILES],
  // jobs/migrate.ts: every step is an action; the commands are what the review shows.
  migrate: [...VIRSH],
  // jobs/evacuate.ts: actions only, as migrate (each guest's move is a migration plan).
  evacuate: [...VIRSH],
  'evacuate-move': [...VIRSH],
  mergeide: ['guestfish', 'cp', 'cmp', 'xorriso', ...VIRSH, ...FILES],
  'snapshot-create': ['qemu-img', ...VIRSH, ...FILES],
  'snapshot-revert': ['qemu-img', ...VIRSH, ...FILES],
  'snapshot-delete': ['qemu-img', ...VIRSH, ...FILES],
  'new-guest': ['qemu-img', ...VIRSH, ...FILES],
  'disk-create': ['qemu-img', ...VIRSH, ...FILES],
  'disk-attach': ['qemu-img', ...VIRSH, ...FILES],
  'disk-detach': ['qemu-img', ...VIRSH, ...FILES],
  'disk-delete': ['qemu-img', ...VIRSH, ...FILES],
  demo: DEMO,
  'virtdeck-demo': DEMO,
  'demo-reset': DEMO,
};

/** The only shell scripts plan steps run (`sh -c SCRIPT`); anything else in a journal is not ours. */
export const PLAN_SCRIPTS: ReadonlySet<string> = new Set([
  // model/backupPlan.ts: the run directory, reachable by QEMU for push backups.
  RUN_DIR_SCRIPT,
  RUN_DIR_SCRIPT_GROUP,
  // The same step as journaled by virtdeck before runs were private (old journals still finish).
  'mkdir -p -- "$1" && mkdir -m 0755 -- "$2"',
]);

/** ssh options that run a local command or read another config: a journal must not bring its own. */
const SSH_LOCAL_COMMAND = /(proxy|local|knownhosts)command|proxyjump|permitlocalcommand|^-F|^match\b/i;

function refuse(rec: { id: string }, what: string): UserError {
  return new UserError(
    `Journal ${rec.id} ${what}, which no virtdeck plan contains, so it will not be run.`,
    `Look at it (virtdeck job show ${rec.id}); if you did not start this job, remove its journal from the state directory.`,
  );
}

/** guestfish reads `!cmd`, `<!cmd` and `| cmd` as host shell commands: a script with one is not ours. */
const GUESTFISH_SHELL = /(^|\n)\s*<?!|\|/;

function checkCommand(rec: { id: string }, kind: string, c: CommandSpec): void {
  const allowed = PLAN_PROGRAMS[kind] ?? [];
  let program = c.argv[0] ?? '';
  // `env VAR=… guestfish …` (expand's launch): env only ever sets variables for guestfish.
  if (program === 'env') {
    const rest = c.argv.slice(1).filter((w) => !/^[A-Z_][A-Z0-9_]*=/.test(w));
    if (rest[0] !== 'guestfish') throw refuse(rec, 'runs env with a program other than guestfish');
    program = 'env';
  }
  if (!allowed.includes(program)) throw refuse(rec, `runs ${shown(program)} in a ${shown(kind)} job`);
  // convertPlan's `setpriv --pdeathsig KILL -- qemu-img …`: setpriv only ever wraps qemu-img.
  if (program === 'setpriv' && !(c.argv[1] === '--pdeathsig' && c.argv[2] === 'KILL' && c.argv[3] === '--' && c.argv[4] === 'qemu-img')) {
    throw refuse(rec, 'runs setpriv around a program other than qemu-img');
  }
  if (c.argv.includes('guestfish') && (c.argv.some((w) => /^(<?!|\|)/.test(w)) || (c.input !== undefined && GUESTFISH_SHELL.test(c.input)))) {
    throw refuse(rec, 'gives guestfish a host shell command');
  }
  if (program === 'sh' && !(c.argv[1] === '-c' && PLAN_SCRIPTS.has(c.argv[2] ?? ''))) throw refuse(rec, 'runs a shell script');
  if (program === 'ssh' && c.argv.some((w) => SSH_LOCAL_COMMAND.test(w))) throw refuse(rec, 'gives ssh an option that runs a local command');
}

/**
 * Refuses (UserError) a journal whose kind no plan builder makes, or that holds a command, an
 * action or a helper file its kind's builders never produce.
 */
export function assertRecoverablePlan(rec: { id: string; kind: string; plan: Plan }, actionNames: readonly string[]): void {
  const { kind, plan } = rec;
  if (!Object.hasOwn(PLAN_PROGRAMS, kind) || plan.kind !== kind) throw refuse(rec, `is of the kind ${shown(kind)}`);
  for (const step of plan.steps) {
    // A step (or undo) with an action runs that action; its command is only what the review showed.
    if (step.command && !step.action) checkCommand(rec, kind, step.command);
    if (step.undo?.command && !step.undo.action) checkCommand(rec, kind, step.undo.command);
    for (const a of [step.action, step.undo?.action]) {
      if (a && !actionNames.includes(a.name)) throw refuse(rec, `names the action ${shown(a.name)}`);
    }
    if (step.writesFile && !isPrivateTempPath(step.writesFile.path)) throw refuse(rec, `writes the file ${shown(step.writesFile.path)}`);
  }
}
