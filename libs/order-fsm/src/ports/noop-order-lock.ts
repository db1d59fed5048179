import type { OrderLock, OrderLockHandle } from './order-lock.js';

const RELEASED: OrderLockHandle = { release: async () => undefined, grant: 'none' };

/** No lock at all: concurrent events race and the version fence picks one winner. */
export class NoopOrderLock implements OrderLock {
  async acquire(): Promise<OrderLockHandle> {
    return RELEASED;
  }
}
