// `@order-fsm/core/redis`: the per-order lock on Redis (`ioredis` alone: its own scripts, and pub/sub to wake waiters).
export { RedlockOrderLock, type RedlockOrderLockOptions } from './redlock-order-lock.js';
