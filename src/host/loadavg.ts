/**
 * The host's load averages. On this machine /proc/loadavg is read with Node (no process); on a
 * remote host it takes one `cat` over SSH, so callers ask for it far less often than they refresh.
 */
import { readFile } from 'node:fs/promises';
import { type LoadAverage, parseLoadavg } from '../model/hostLoad.js';
import type { HostContext } from './hostContext.js';

const LOADAVG = '/proc/loadavg';

export async function readLoadavg(host: HostContext, signal?: AbortSignal): Promise<LoadAverage | null> {
  const text = host.sysExec.local
    ? await readFile(LOADAVG, { encoding: 'utf8', ...(signal ? { signal } : {}) })
    : (await host.sysExec.run(['cat', LOADAVG], { timeoutMs: 2_000, ...(signal ? { signal } : {}) })).stdout;
  return parseLoadavg(text.slice(0, 200));
}
