import { Logger } from '@nestjs/common';
import type { Redis } from 'ioredis';
// redlock 4.2 is the current stable release; 5.x has stayed a beta since 2022 with open bugs in
// lock extension and expiry. Single-instance Redis with 4.2's acquire/release scripts is all we need.
import Redlock from 'redlock';
import { DependencyUnavailableError, OrderBusyError } from '../../errors/order-fsm.errors.js';
import type { OrderLock, OrderLockHandle } from '../../ports/order-lock.js';

export interface RedlockOrderLockOptions {
  /** How long a lock lives if its holder never releases it. Default 10 s. */
  ttlMs?: number;
  /** How long a caller waits for a busy order before ORDER_BUSY. Default 2 s. */
  waitMs?: number;
  /** Pause between attempts while waiting. Default 25 ms (with ±25% jitter). */
  retryDelayMs?: number;
  /** Prefix of the Redis keys. Default `order-fsm:lock:`. */
  keyPrefix?: string;
}

/**
 * The per-order lock on Redis. Give it an ioredis client created with `enableOfflineQueue: false`,
 * so that a Redis outage fails fast (DEPENDENCY_UNAVAILABLE) instead of queueing commands.
 */
export class RedlockOrderLock implements OrderLock {
  private readonly logger = new Logger(RedlockOrderLock.name);
  private readonly redlock: Redlock;
  private readonly ttlMs: number;
  private readonly waitMs: number;
  private readonly keyPrefix: string;

  constructor(
    private readonly redis: Redis,
    options: RedlockOrderLockOptions = {},
  ) {
    this.ttlMs = options.ttlMs ?? 10_000;
    this.waitMs = options.waitMs ?? 2_000;
    this.keyPrefix = options.keyPrefix ?? 'order-fsm:lock:';
    const retryDelay = Math.max(1, options.retryDelayMs ?? 25);
    this.redlock = new Redlock([redis], {
      driftFactor: 0.01,
      retryCount: Math.ceil(this.waitMs / retryDelay),
      retryDelay,
      retryJitter: Math.floor(retryDelay / 4),
    });
    // Connection errors surface through acquire(); this only keeps them off the default 'error' path.
    this.redlock.on('clientError', () => undefined);
  }

  async acquire(orderId: string): Promise<OrderLockHandle> {
    // Not connected: answer at once rather than spend the whole wait retrying a dead connection.
    if (this.redis.status !== 'ready') throw new DependencyUnavailableError('redis');
    const started = Date.now();
    let lock: Redlock.Lock;
    try {
      lock = await this.redlock.lock(this.keyPrefix + orderId, this.ttlMs);
    } catch (error) {
      if (this.redis.status !== 'ready') throw new DependencyUnavailableError('redis', error);
      if (error instanceof Redlock.LockError) throw new OrderBusyError(orderId, Date.now() - started);
      throw new DependencyUnavailableError('redis', error);
    }
    return {
      release: async () => {
        try {
          await lock.unlock();
        } catch (error) {
          this.logger.warn(`could not release the lock of order ${orderId}; it expires in ${this.ttlMs} ms: ${error}`);
        }
      },
    };
  }
}
