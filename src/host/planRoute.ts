import type { PlanRoute } from '../model/plan.js';
import { SshExecutor } from './exec.js';
import type { HostContext } from './hostContext.js';

/** How a plan's file commands reach the host: through the ssh virtdeck uses for it, or null on this machine. */
export function planRoute(host: HostContext): PlanRoute | null {
  return host.sysExec instanceof SshExecutor ? { host: host.name, ssh: host.sysExec.commandPrefix() } : null;
}
