/** How a job's start time and step are written in the Jobs pane and `virtdeck job list`. */

/** "14:05" today, "Feb 27 09:05" on another day; the raw text when it is not a date. */
export function startedText(iso: string, now: Date = new Date()): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  const hm = `${String(d.getHours()).padStart(2, '0')}:${String(d.getMinutes()).padStart(2, '0')}`;
  if (d.toDateString() === now.toDateString()) return hm;
  return `${d.toLocaleString('en', { month: 'short' })} ${d.getDate()} ${hm}`;
}

/** "3/6" for a running or interrupted job; "6/6" once done. */
export function stepText(j: { stepCount: number; stepIndex: number; state: string }): string {
  if (j.stepCount === 0) return '0/0';
  const shown = j.state === 'done' ? j.stepCount : Math.min(j.stepIndex + 1, j.stepCount);
  return `${shown}/${j.stepCount}`;
}
