// `@order-fsm/core/in-process`: the lock and the queue of one process (a first run, a demo, tests): no driver at all.
export { InProcessOrderLock, type InProcessOrderLockOptions } from './in-process-order-lock.js';
export { InProcessMessaging, type DeadLetter, type InProcessMessagingOptions, type StatusListener } from './in-process-messaging.js';
