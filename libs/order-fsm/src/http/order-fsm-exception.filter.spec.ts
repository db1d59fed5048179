import type { ArgumentsHost } from '@nestjs/common';
import { OrderNotFoundError } from '../errors/order-fsm.errors.js';
import { OrderFsmExceptionFilter, StackLogThrottle } from './order-fsm-exception.filter.js';

/** Thrown from one place, with a message that differs every time (as ids in messages do). */
const failAt = (id: number) => new RangeError(`Maximum call stack size exceeded near ${id}`);
const failElsewhere = () => new TypeError('cannot read properties of undefined');

describe('StackLogThrottle', () => {
  it('logs the stack of an error from one place once per quiet period, then again with how many came between', () => {
    let now = 0;
    const throttle = new StackLogThrottle(60_000, 256, () => now);
    const lines = Array.from({ length: 1_000 }, (_, i) => throttle.describe(failAt(i)));
    expect(lines.filter((line) => line.includes('\n    at ')).length).toBe(1);
    expect(lines[0]).toContain(failAt(0).stack!.split('\n')[1]);
    expect(lines[999]).toBe('RangeError: Maximum call stack size exceeded near 999 (its stack was logged 0 s ago)');
    // Another place has a stack of its own.
    expect(throttle.describe(failElsewhere())).toContain('\n    at ');
    now = 61_000;
    const again = throttle.describe(failAt(1_000));
    expect(again).toContain('\n    at ');
    expect(again).toContain('(999 more like it since its stack was last logged)');
  });

  it('keeps each line short, and forgets the oldest place past its capacity', () => {
    const throttle = new StackLogThrottle(60_000, 2, () => 0);
    const long = () => new Error('x'.repeat(10_000));
    throttle.describe(long());
    expect(throttle.describe(long()).length).toBeLessThan(400);
    throttle.describe(failAt(1));
    throttle.describe(failElsewhere()); // the first place is forgotten
    expect(throttle.describe(long())).toContain('\n    at ');
  });
});

describe('OrderFsmExceptionFilter', () => {
  function filterAnswering() {
    const filter = new OrderFsmExceptionFilter();
    const logged: string[] = [];
    (filter as unknown as { logger: object }).logger = { error: (line: string) => logged.push(line), warn: () => undefined, debug: () => undefined };
    const sent: Array<{ status: number; body: unknown }> = [];
    const reply = { code: (status: number) => ({ send: (body: unknown) => sent.push({ status, body }) }) };
    const host = { switchToHttp: () => ({ getResponse: () => reply }) } as unknown as ArgumentsHost;
    return { catch: (error: unknown) => filter.catch(error, host), logged, sent };
  }

  it('answers a 500 without its stack or message, and logs the stack of a storm of them once', () => {
    const f = filterAnswering();
    for (let i = 0; i < 500; i++) f.catch(failAt(i));
    expect(f.sent).toHaveLength(500);
    for (const { status, body } of f.sent) expect({ status, body }).toEqual({ status: 500, body: { statusCode: 500, code: 'INTERNAL_ERROR', message: 'internal error' } });
    expect(f.logged).toHaveLength(500);
    expect(f.logged.filter((line) => line.includes('\n    at ')).length).toBe(1);
  });

  it('logs nothing for a client error, nor for a client that hung up while its body arrived', () => {
    const f = filterAnswering();
    f.catch(new OrderNotFoundError('o-1'));
    f.catch(Object.assign(new Error('aborted'), { code: 'ECONNRESET' }));
    expect(f.sent.map((s) => s.status)).toEqual([404, 400]);
    expect(f.logged).toEqual([]);
  });

  it("writes a subclass's logFields() as the fields of its lines, and asks for them only when it logs", () => {
    let asked = 0;
    class Named extends OrderFsmExceptionFilter {
      protected override logFields(): Record<string, unknown> {
        asked++;
        return { reqId: 'r-1', orderId: 'o-1' };
      }
    }
    const filter = new Named();
    const logged: unknown[][] = [];
    (filter as unknown as { logger: object }).logger = { error: (...args: unknown[]) => logged.push(args), warn: () => undefined, debug: () => undefined };
    const reply = { code: () => ({ send: () => undefined }) };
    const host = { switchToHttp: () => ({ getResponse: () => reply }) } as unknown as ArgumentsHost;
    filter.catch(new OrderNotFoundError('o-1'), host);
    expect(asked).toBe(0);
    filter.catch(failElsewhere(), host);
    expect(logged).toEqual([[{ reqId: 'r-1', orderId: 'o-1' }, expect.stringContaining('TypeError: cannot read properties of undefined')]]);
  });
});
