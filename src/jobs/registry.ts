/**
 * Actions of each job kind, by the plan's `kind`. A journal records only data (steps, command
 * lines, action names); to finish or roll back an interrupted job, a later virtdeck looks up the
 * functions its steps name here. One line per job kind.
 */
import type { HostContext } from '../host/hostContext.js';
import { RESTIC_MOUNT_KIND } from '../model/resticMount.js';
import { backupActions } from './backup.js';
import { convertActions } from './convert.js';
import { evacuateActions, moveActions } from './evacuate.js';
import { expandActions } from './expand.js';
import { esxiActions } from './importEsxi.js';
import { ovaActions } from './importOva.js';
import { importActions } from './importVmware.js';
import { INSTANT_DISCARD_KIND, INSTANT_FINISH_KIND, INSTANT_JOB_KIND, instantActions } from './instant.js';
import { mergeIdeActions } from './mergeide.js';
import { migrateActions } from './migrate.js';
import { p2vActions } from './p2v.js';
import { resticMountActions } from './resticMount.js';
import { RESTORE_JOB_KIND, restoreActions } from './restore.js';
import type { Action } from './runner.js';
import { snapshotActions } from './snapshot.js';

export type ActionsFactory = (host: HostContext) => Record<string, Action>;

export const JOB_ACTIONS: Record<string, ActionsFactory> = {
  convert: convertActions,
  expand: (host) => expandActions(host),
  backup: (host) => backupActions(host),
  'import-vmware': importActions,
  'import-ova': ovaActions,
  'import-esxi': esxiActions,
  p2v: p2vActions,
  mergeide: mergeIdeActions,
  migrate: migrateActions,
  evacuate: evacuateActions,
  'evacuate-move': moveActions,
  [RESTORE_JOB_KIND]: restoreActions,
  [RESTIC_MOUNT_KIND]: resticMountActions,
  [INSTANT_JOB_KIND]: instantActions,
  [INSTANT_DISCARD_KIND]: instantActions,
  [INSTANT_FINISH_KIND]: instantActions,
  'snapshot-revert': snapshotActions,
  'snapshot-delete': snapshotActions,
};

/** The actions a journal of this kind may name; an unknown kind has none (its steps are commands). */
export function actionsFor(kind: string, host: HostContext): Record<string, Action> {
  return JOB_ACTIONS[kind]?.(host) ?? {};
}
