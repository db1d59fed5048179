// `@order-fsm/core/redis`: the per-order lock on Redis (`ioredis`; `redlock` 4.2 renews its lease; pub/sub wakes waiters).
export { RedlockOrderLock, type RedlockOrderLockOptions } from './redlock-order-lock.js';
