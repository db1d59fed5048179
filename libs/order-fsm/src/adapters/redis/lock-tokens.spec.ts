import type { Redis } from 'ioredis';
import Redlock from 'redlock';
import { RedlockOrderLock, lockTokenSource } from './redlock-order-lock.js';

describe('lockTokenSource', () => {
  it('gives 16 random bytes in hex, never the same twice, across many refills of its pool', () => {
    const next = lockTokenSource();
    const tokens = Array.from({ length: 5_000 }, next);
    for (const token of tokens) expect(token).toMatch(/^[0-9a-f]{32}$/);
    expect(new Set(tokens).size).toBe(tokens.length);
  });

  it('uses every bit: each hex digit turns up at every position', () => {
    const next = lockTokenSource();
    const seen = Array.from({ length: 32 }, () => new Set<string>());
    for (let i = 0; i < 2_000; i++) [...next()].forEach((digit, at) => seen[at].add(digit));
    for (const digits of seen) expect(digits.size).toBe(16);
  });

  it("is where RedlockOrderLock's redlock draws the token of every lock it takes", () => {
    // Nothing is sent: the constructor only keeps the client.
    const lock = new RedlockOrderLock({ status: 'wait' } as unknown as Redis);
    const redlock = (lock as unknown as { redlock: Redlock }).redlock;
    expect(redlock._random).not.toBe(Redlock.prototype._random);
    const tokens = Array.from({ length: 600 }, () => redlock._random());
    for (const token of tokens) expect(token).toMatch(/^[0-9a-f]{32}$/);
    expect(new Set(tokens).size).toBe(600);
  });
});
