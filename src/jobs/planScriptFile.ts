import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Plan, type PlanRoute, planScript } from '../model/plan.js';
import { UserError } from '../model/userError.js';

/**
 * A review screen's `w`: the plan as a shell script in STATE/plans/KIND-TIME.sh; returns its path.
 * With a route (a remote host), the host's commands are written as the ssh lines that run them there.
 */
export function savePlanScript(stateDir: string, kind: string, plan: Plan, now = new Date(), route: PlanRoute | null = null): string {
  // Made first: a plan with no script form is refused before anything is written.
  const text = planScript(plan, route);
  const dir = join(stateDir, 'plans');
  const file = join(dir, `${kind}-${now.toISOString().replace(/[:.]/g, '-')}.sh`);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  // Executable by its owner only, and a new file: a plan script names images and guests.
  writeFileSync(file, text, { mode: 0o700, flag: 'wx' });
  return file;
}

/** The review screen's line after `w`: where the script went, or why it could not be written. */
export function savePlanScriptNote(stateDir: string, kind: string, plan: Plan, route: PlanRoute | null = null): string {
  try {
    return `Saved as ${savePlanScript(stateDir, kind, plan, new Date(), route)}`;
  } catch (e) {
    if (e instanceof UserError) return `${e.sentence} ${e.fix}`;
    return `Could not save the script: ${e instanceof Error ? e.message : String(e)}`;
  }
}
