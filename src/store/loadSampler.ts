/**
 * Keeps the header's load average current without adding to the refresh: read after each refresh
 * on this machine (a file read, no process), and at most every `remoteEveryMs` on a remote host,
 * where each read is an SSH process; the kernel's averages move over minutes, not seconds. Never
 * awaited by the refresh; a failed read leaves the last value (or none) and is tried again later.
 */
import type { HostContext } from '../host/hostContext.js';
import { readLoadavg } from '../host/loadavg.js';
import type { LoadAverage } from '../model/hostLoad.js';

export interface LoadSampler {
  /** Called after a refresh: reads the load average if it is due. */
  sample(): void;
  dispose(): void;
}

export function createLoadSampler(o: { host: HostContext; publish: (load: LoadAverage) => void; now?: () => number; remoteEveryMs?: number }): LoadSampler {
  const now = o.now ?? Date.now;
  const every = o.host.sysExec.local ? 0 : (o.remoteEveryMs ?? 15_000);
  const stop = new AbortController();
  let last = Number.NEGATIVE_INFINITY;
  let inFlight = false;
  return {
    sample() {
      if (inFlight || stop.signal.aborted || now() - last < every) return;
      inFlight = true;
      last = now();
      readLoadavg(o.host, stop.signal).then(
        (load) => {
          inFlight = false;
          if (load && !stop.signal.aborted) o.publish(load);
        },
        () => {
          inFlight = false;
        },
      );
    },
    dispose() {
      stop.abort();
    },
  };
}
