/**
 * The keys every wizard shares, as scopes: given what the wizard shows, which rows of the key table
 * are live (the generalisation of the old per-wizard key handler). Each wizard's store lists its
 * screen; the router and the table do the rest, and the hint line comes from the same rows.
 *
 * - step: Ctrl-C leaves, Esc goes back (closes on the first step); its form's fields; Enter goes on.
 *   While the step is busy on the host: Esc stops it (`stop`) or nothing but Ctrl-C (`wait`).
 * - review: Enter runs, w saves the plan as a script, b runs it in the background, q leaves, ↑↓ scroll.
 * - running: the job controller's scopes (cancel asks first; y/n; b where the job may detach).
 * - result: Enter/Esc/q close; ↑↓ scroll where it scrolls.
 */
import type { Form } from '../form.js';
import { formScopes } from '../form.js';
import type { JobController } from '../jobs/jobController.js';
import type { Scope } from '../keys/table.js';

export type WizardScreen =
  | { kind: 'step'; form?: Form; next?: boolean; scroll?: boolean; busy?: 'wait' | 'stop' }
  | { kind: 'review'; script?: boolean; background?: boolean; scroll?: boolean; quit?: boolean }
  | { kind: 'running'; jobs: JobController }
  | { kind: 'result'; scroll?: boolean };

export function wizardScopes(screen: WizardScreen): Scope[] {
  switch (screen.kind) {
    case 'step': {
      if (screen.busy) return screen.busy === 'stop' ? ['wizard:busy'] : ['wizard:busy-wait'];
      const scopes: Scope[] = screen.form ? formScopes(screen.form) : [];
      if (screen.next !== false) scopes.push('wizard:next');
      if (screen.scroll) scopes.push('wizard:scroll');
      return [...scopes, 'wizard:step'];
    }
    case 'review': {
      const scopes: Scope[] = ['wizard:review'];
      if (screen.quit !== false) scopes.push('wizard:review-quit');
      if (screen.script) scopes.push('wizard:review-script');
      if (screen.background) scopes.push('wizard:review-background');
      if (screen.scroll !== false) scopes.push('wizard:scroll');
      return [...scopes, 'wizard:step'];
    }
    case 'running':
      return screen.jobs.scopes();
    case 'result':
      return screen.scroll ? ['wizard:result', 'wizard:scroll'] : ['wizard:result'];
  }
}

/** The next first row after scrolling by `by`: never past `max`, never above 0. */
export function scrolled(at: number, by: number, max: number): number {
  return by > 0 ? Math.min(max, at + by) : Math.max(0, at + by);
}

/** How far a scroll action moves a page of `page` rows; 0 for any other action. */
export function scrollStep(action: string, page: number): number {
  if (action === 'scrollDown') return 1;
  if (action === 'scrollUp') return -1;
  if (action === 'pageDown') return page;
  if (action === 'pageUp') return -page;
  return 0;
}
