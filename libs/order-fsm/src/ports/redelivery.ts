import type { WorkVerdict } from './message-broker.js';

/** What a broker does with a delivery of automatic work once the worker has given its verdict. */
export type Redelivery =
  | { readonly action: 'ack' }
  /** Deliver it again after `retryDelaysMs[delay]` (the adapter's fallback when there is no such delay), as delivery `attempt`. */
  | { readonly action: 'again'; readonly attempt: number; readonly delay: number }
  | { readonly action: 'dead'; readonly reason: string };

/**
 * The one redelivery policy, for every broker: `done` is acknowledged; `wait` (not the work's fault)
 * comes back after the shortest delay as the same attempt (a `patient` one after the longest), so an
 * outage never uses up the budget that tells a poison message from a slow one; `retry` comes back after a growing delay until
 * `retryDelaysMs.length + 1` deliveries are spent, then goes to the dead letters; `dead` goes at once.
 */
export function redeliveryOf(verdict: WorkVerdict, attempt: number, retryDelaysMs: readonly number[]): Redelivery {
  switch (verdict.outcome) {
    case 'done':
      return { action: 'ack' };
    case 'wait':
      return { action: 'again', attempt, delay: verdict.patient ? longestOf(retryDelaysMs) : 0 };
    case 'retry':
      if (attempt < retryDelaysMs.length + 1) return { action: 'again', attempt: attempt + 1, delay: Math.min(attempt, retryDelaysMs.length) - 1 };
      return { action: 'dead', reason: verdict.reason };
    case 'dead':
      return { action: 'dead', reason: verdict.reason };
  }
}

/** The index of the longest delay (0 when there is none: the adapter's fallback). */
function longestOf(retryDelaysMs: readonly number[]): number {
  let longest = 0;
  for (let i = 1; i < retryDelaysMs.length; i++) if (retryDelaysMs[i] > retryDelaysMs[longest]) longest = i;
  return longest;
}
