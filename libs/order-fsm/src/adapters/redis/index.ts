// `@order-fsm/core/redis`: the per-order lock on Redis (`ioredis` and `redlock` 4.2).
export { RedlockOrderLock, type RedlockOrderLockOptions } from './redlock-order-lock.js';
