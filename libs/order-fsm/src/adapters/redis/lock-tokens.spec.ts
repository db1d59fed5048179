import { lockTokenSource } from './redlock-order-lock.js';

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
});
