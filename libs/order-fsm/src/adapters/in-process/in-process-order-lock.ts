import { OrderBusyError } from '../../errors/order-fsm.errors.js';
import type { LockGrant, OrderLock, OrderLockHandle } from '../../ports/order-lock.js';

export interface InProcessOrderLockOptions {
  /** How long a caller waits for a busy order before ORDER_BUSY. Default 2 s. */
  waitMs?: number;
}

interface Waiter {
  grant: (handle: OrderLockHandle) => void;
  timer: NodeJS.Timeout;
}

/**
 * The per-order lock of one process: a queue per order, first come first served. For the embedded
 * first run and for tests; several instances need a shared lock (RedlockOrderLock). As with Redis,
 * the version fence in the store, not this lock, is what keeps an order from moving twice.
 */
export class InProcessOrderLock implements OrderLock {
  private readonly waitMs: number;
  private readonly queues = new Map<string, Waiter[]>();

  constructor(options: InProcessOrderLockOptions = {}) {
    this.waitMs = options.waitMs ?? 2_000;
  }

  /** Orders locked right now (a test can assert that nothing is left held). */
  get held(): number {
    return this.queues.size;
  }

  acquire(orderId: string): Promise<OrderLockHandle> {
    const queue = this.queues.get(orderId);
    if (!queue) {
      this.queues.set(orderId, []);
      return Promise.resolve(this.handle(orderId, 'acquired'));
    }
    const started = Date.now();
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        grant: resolve,
        timer: setTimeout(() => {
          queue.splice(queue.indexOf(waiter), 1);
          reject(new OrderBusyError(orderId, Date.now() - started));
        }, this.waitMs),
      };
      queue.push(waiter);
    });
  }

  private handle(orderId: string, grant: LockGrant): OrderLockHandle {
    let released = false;
    return {
      grant,
      release: async () => {
        if (released) return;
        released = true;
        const next = this.queues.get(orderId)?.shift();
        if (!next) {
          this.queues.delete(orderId);
          return;
        }
        clearTimeout(next.timer);
        next.grant(this.handle(orderId, 'handed_off'));
      },
    };
  }
}
