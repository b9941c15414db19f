// Reconnect delays: exponential growth with "full jitter" (a uniformly random
// delay between 0 and the capped exponential), so a fleet of browsers that
// lost the same server does not come back in lock step.

/** Backoff settings, in milliseconds. */
export interface BackoffOptions {
  /** First ceiling; doubles per failed attempt. Default 250. */
  baseMs?: number;
  /** Largest ceiling. Default 30 000. */
  maxMs?: number;
}

/** backoffDelay returns the delay before reconnect attempt n (0-based). */
export function backoffDelay(attempt: number, o: BackoffOptions = {}, random: () => number = Math.random): number {
  const base = o.baseMs ?? 250;
  const max = o.maxMs ?? 30_000;
  const ceiling = Math.min(max, base * 2 ** Math.min(attempt, 30));
  return Math.floor(random() * ceiling);
}
