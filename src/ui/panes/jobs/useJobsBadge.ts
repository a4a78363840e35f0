import { useStore } from 'zustand';
import { createStore, type StoreApi } from 'zustand/vanilla';
import type { JobSummary } from '../../../jobs/jobStatus.js';
import { useApp } from '../../../store/context.js';
import { type JobsPaneController, jobsBadge } from '../../../store/jobsPane.js';

const NO_JOBS: StoreApi<{ jobs: JobSummary[] }> = createStore(() => ({ jobs: [] as JobSummary[] }));

/** "1 running" for the Jobs tab title (in full and short); '' without a Jobs pane or when nothing runs or waits. */
export function useJobsBadge(): { full: string; short: string } {
  const controller = useApp((s) => s.panes.jobs) as JobsPaneController | undefined;
  // The strings, not the list: a re-read that changes no badge redraws nothing.
  const jobsStore = (controller?.store ?? NO_JOBS) as StoreApi<{ jobs: JobSummary[] }>;
  const full = useStore(jobsStore, (s) => jobsBadge(s.jobs));
  const short = useStore(jobsStore, (s) => jobsBadge(s.jobs, true));
  return { full, short };
}
