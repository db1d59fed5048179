/** A held per-order lock. release() never throws: an unreleased lock simply expires. */
export interface OrderLockHandle {
  release(): Promise<void>;
}

/**
 * The lock port: one event at a time per order, for efficiency. Safety does not depend on it; the
 * version fence in the store does.
 */
export interface OrderLock {
  /** Throws OrderBusyError when the order stays locked past the wait, DependencyUnavailableError when the lock service is down. */
  acquire(orderId: string): Promise<OrderLockHandle>;
}
