// `@order-fsm/core/redis`: the per-order lock on Redis (`ioredis`, and `redlock` 4.2 for the lock itself; pub/sub wakes waiters).
export { RedlockOrderLock, type RedlockOrderLockOptions } from './redlock-order-lock.js';
