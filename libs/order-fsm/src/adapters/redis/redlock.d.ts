// The part of redlock 4.2's API that order-fsm uses (the package ships no typings, and
// @types/redlock pins @types/ioredis 4, which conflicts with ioredis 5's own types).
declare module 'redlock' {
  import { EventEmitter } from 'events';

  namespace Redlock {
    interface Options {
      driftFactor?: number;
      retryCount?: number;
      retryDelay?: number;
      retryJitter?: number;
    }
    class Lock {
      readonly resource: string | string[];
      readonly value: string;
      expiration: number;
      unlock(): Promise<void>;
      extend(ttl: number): Promise<Lock>;
    }
    class LockError extends Error {
      readonly attempts: number;
    }
  }

  class Redlock extends EventEmitter {
    static readonly LockError: typeof Redlock.LockError;
    constructor(clients: readonly unknown[], options?: Redlock.Options);
    lock(resource: string | string[], ttl: number): Promise<Redlock.Lock>;
    /** Draws a new lock's token (16 random bytes in hex); an instance may be given its own. */
    _random(): string;
  }

  export = Redlock;
}
