import { useStore } from 'zustand';
import { createStore, type StoreApi } from 'zustand/vanilla';
import type { JobSummary } from '../../../jobs/jobStatus.js';
import { useApp } from '../../../store/context.js';
import { type JobsPaneController, jobsBadge } from '../../../store/jobsPane.js';

const NO_JOBS: StoreApi<{ jobs: JobSummary[] }> = createStore(() => ({ jobs: [] as JobSummary[] }));

/** "1 running" for the Jobs tab title (in full and short); '' without a Jobs pane or when nothing runs or waits. */
export function useJobsBadge(): { full: string; short: string } {
  const controller = useApp((s) => s.panes.jobs) as JobsPaneController | undefined;
  const jobs = useStore((controller?.store ?? NO_JOBS) as StoreApi<{ jobs: JobSummary[] }>, (s) => s.jobs);
  return { full: jobsBadge(jobs), short: jobsBadge(jobs, true) };
}
