import type { HostContext } from '../host/hostContext.js';
import { isoPathProblem } from '../model/isoPath.js';
import { probePaths } from './newGuest.js';

/** Refuses (UserError) an ISO path that is missing or not a file or block device on the host. */
export async function checkIsoOnHost(host: HostContext, path: string, signal?: AbortSignal): Promise<void> {
  const kind = path.startsWith('/') ? ((await probePaths(host, [path], signal)).get(path)?.kind ?? null) : null;
  const problem = isoPathProblem(path, kind);
  if (problem) throw problem;
}
