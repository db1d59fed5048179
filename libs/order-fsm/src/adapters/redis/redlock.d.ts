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
      constructor(redlock: Redlock, resource: string[], value: string, expiration: number, attempts: number, attemptsRemaining: number);
      readonly resource: string | string[];
      readonly value: string;
      expiration: number;
      unlock(): Promise<void>;
      extend(ttl: number): Promise<Lock>;
    }
  }

  class Redlock extends EventEmitter {
    constructor(clients: readonly unknown[], options?: Redlock.Options);
  }

  export = Redlock;
}
