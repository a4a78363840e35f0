/**
 * The host's load averages. On this machine /proc/loadavg is read with Node (no process); on a
 * remote host it takes one `cat` over SSH, so callers ask for it far less often than they refresh.
 */
import { readFileSync } from 'node:fs';
import { type LoadAverage, parseLoadavg } from '../model/hostLoad.js';
import type { HostContext } from './hostContext.js';

const LOADAVG = '/proc/loadavg';

export async function readLoadavg(host: HostContext, signal?: AbortSignal): Promise<LoadAverage | null> {
  // The kernel fills the file in as it is read, at once: read in place, not through four round
  // trips of the thread pool (open, stat, read, close) that each woke the idle console.
  if (host.sysExec.local) {
    if (signal?.aborted) return null;
    return parseLoadavg(readFileSync(LOADAVG, 'utf8').slice(0, 200));
  }
  const text = (await host.sysExec.run(['cat', LOADAVG], { timeoutMs: 2_000, ...(signal ? { signal } : {}) })).stdout;
  return parseLoadavg(text.slice(0, 200));
}
