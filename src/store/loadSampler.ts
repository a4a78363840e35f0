/**
 * Keeps the header's load average current without adding to the refresh: read as each refresh
 * starts on this machine (a file read, no process, done long before virsh answers, so the refresh
 * shows it in its own store update: `latest`), and at most every `remoteEveryMs` on a remote host,
 * where each read is an SSH process; the kernel's averages move over minutes, not seconds. Never
 * awaited by the refresh: a read that ends after it is published on its own. A failed read leaves
 * the last value (or none) and is tried again later.
 */
import type { HostContext } from '../host/hostContext.js';
import { readLoadavg } from '../host/loadavg.js';
import type { LoadAverage } from '../model/hostLoad.js';

export interface LoadSampler {
  /** Called as a refresh starts: reads the load average if it is due. */
  sample(): void;
  /** The last load average read (null: none yet). */
  latest(): LoadAverage | null;
  dispose(): void;
}

export function createLoadSampler(o: { host: HostContext; publish: (load: LoadAverage) => void; now?: () => number; remoteEveryMs?: number }): LoadSampler {
  const now = o.now ?? Date.now;
  const every = o.host.sysExec.local ? 0 : (o.remoteEveryMs ?? 15_000);
  const stop = new AbortController();
  let last = Number.NEGATIVE_INFINITY;
  let inFlight = false;
  let latest: LoadAverage | null = null;
  return {
    latest: () => latest,
    sample() {
      if (inFlight || stop.signal.aborted || now() - last < every) return;
      inFlight = true;
      last = now();
      readLoadavg(o.host, stop.signal).then(
        (load) => {
          inFlight = false;
          if (!load || stop.signal.aborted) return;
          latest = load;
          o.publish(load);
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
