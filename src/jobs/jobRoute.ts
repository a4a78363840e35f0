/**
 * Where a journaled job's commands ran, so `job show` and the Jobs pane print a remote job's steps
 * as its dry-run and review did (`ssh … -- root@host '…'`), not as bare commands that would run on
 * the wrong machine if copied.
 */

import type { HostContext } from '../host/hostContext.js';
import { planRoute } from '../host/planRoute.js';
import type { PlanRoute } from '../model/plan.js';
import { hostForUri } from './worker.js';

/** The route of the journal's host: the console's own host when it is that one, else rebuilt from the URI as the worker does. */
export function routeForJob(uri: string, current?: HostContext): PlanRoute | null {
  if (current && current.uri === uri) return planRoute(current);
  try {
    return planRoute(hostForUri(uri));
  } catch {
    // A URI virtdeck would refuse to connect to: shown bare, as the journal has it.
    return null;
  }
}
