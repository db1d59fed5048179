/**
 * How a holder got its lock: `acquired` from the lock's own store (Redis, or the process's map for
 * an in-process lock), `handed_off` from the previous holder of the same process without a round
 * trip, `none` from a lock that locks nothing (NoopOrderLock).
 */
export type LockGrant = 'acquired' | 'handed_off' | 'none';

/** A held per-order lock. release() never throws: an unreleased lock simply expires. */
export interface OrderLockHandle {
  release(): Promise<void>;
  /** How the lock was got (metrics count lock waits by it); a lock that does not say counts as `acquired`. */
  readonly grant?: LockGrant;
}

/**
 * The lock port: one event at a time per order, for efficiency. Safety does not depend on it; the
 * version fence in the store does.
 */
export interface OrderLock {
  /** Throws OrderBusyError when the order stays locked past the wait, DependencyUnavailableError when the lock service is down. */
  acquire(orderId: string): Promise<OrderLockHandle>;
}
