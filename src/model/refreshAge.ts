/**
 * When the console's data counts as stale: no successful refresh for this many poll intervals. One
 * late round is the host being slow for a moment; three in a row is something the admin should be
 * told before trusting the numbers on screen (a stuck channel, a host that stopped answering
 * without failing). Pure.
 */
export const STALE_ROUNDS = 3;

export function isStale(lastRefresh: number | null, now: number, pollMs: number): boolean {
  return lastRefresh !== null && now - lastRefresh > STALE_ROUNDS * pollMs;
}
