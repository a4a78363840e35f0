import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Plan, planScript } from '../model/plan.js';

/** A review screen's `w`: the plan as a shell script in STATE/plans/KIND-TIME.sh; returns its path. */
export function savePlanScript(stateDir: string, kind: string, plan: Plan, now = new Date()): string {
  const dir = join(stateDir, 'plans');
  const file = join(dir, `${kind}-${now.toISOString().replace(/[:.]/g, '-')}.sh`);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  // Executable by its owner only, and a new file: a plan script names images and guests.
  writeFileSync(file, planScript(plan), { mode: 0o700, flag: 'wx' });
  return file;
}

/** The review screen's line after `w`: where the script went, or why it could not be written. */
export function savePlanScriptNote(stateDir: string, kind: string, plan: Plan): string {
  try {
    return `Saved as ${savePlanScript(stateDir, kind, plan)}`;
  } catch (e) {
    return `Could not save the script: ${e instanceof Error ? e.message : String(e)}`;
  }
}
