import { ERRORS, errorKindOf } from '../errors/error-codes.js';
import { redeliveryOf } from './redelivery.js';

describe('the one redelivery policy', () => {
  const delays = [100, 500];

  it('acknowledges done work and dead-letters dead work at once', () => {
    expect(redeliveryOf({ outcome: 'done', detail: 'applied' }, 1, delays)).toEqual({ action: 'ack' });
    expect(redeliveryOf({ outcome: 'dead', reason: 'FORBIDDEN' }, 1, delays)).toEqual({ action: 'dead', reason: 'FORBIDDEN' });
  });

  it('retries after growing delays until the last delivery, then dead-letters', () => {
    const retry = { outcome: 'retry', reason: 'CHECK_FAILED' } as const;
    expect([1, 2, 3].map((attempt) => redeliveryOf(retry, attempt, delays))).toEqual([
      { action: 'again', attempt: 2, delay: 0 },
      { action: 'again', attempt: 3, delay: 1 },
      { action: 'dead', reason: 'CHECK_FAILED' },
    ]);
    expect(redeliveryOf(retry, 1, [])).toEqual({ action: 'dead', reason: 'CHECK_FAILED' });
  });

  it('brings waiting work back after the shortest delay as the same attempt, however often', () => {
    for (const attempt of [1, 3, 50]) {
      expect(redeliveryOf({ outcome: 'wait', reason: 'DEPENDENCY_UNAVAILABLE' }, attempt, delays)).toEqual({ action: 'again', attempt, delay: 0 });
    }
  });

  it('brings patiently waiting work back after the longest delay as the same attempt, however often', () => {
    const patient = { outcome: 'wait', reason: 'MACHINE_VERSION_NOT_YET_SERVED', patient: true } as const;
    for (const attempt of [1, 3, 50]) expect(redeliveryOf(patient, attempt, delays)).toEqual({ action: 'again', attempt, delay: 1 });
    // With no delays configured, the adapter's own fallback, as for any wait; delays in any order, the longest.
    expect(redeliveryOf(patient, 1, [])).toEqual({ action: 'again', attempt: 1, delay: 0 });
    expect(redeliveryOf(patient, 1, [5_000, 30_000, 1_000])).toEqual({ action: 'again', attempt: 1, delay: 1 });
  });
});

describe('the one error table', () => {
  it('says of every code what a sender should do next, and answers `failed` for anything else', () => {
    expect(errorKindOf('ORDER_STATE_NOT_MATCH')).toBe('moved-on');
    expect(errorKindOf('NOT_FOUND_PROCESSOR')).toBe('moved-on');
    for (const code of ['ORDER_BUSY', 'VERSION_CONFLICT', 'DEPENDENCY_UNAVAILABLE', 'RATE_LIMITED', 'MACHINE_VERSION_NOT_YET_SERVED']) expect([code, errorKindOf(code)]).toEqual([code, 'transient']);
    for (const code of ['FORBIDDEN', 'ORDER_NOT_FOUND', 'IDEMPOTENCY_KEY_REUSED', 'TRANSITION_NOT_DECLARED', 'MACHINE_VERSION_NOT_SERVED']) expect([code, errorKindOf(code)]).toEqual([code, 'refused']);
    expect(errorKindOf('CHECK_FAILED')).toBe('failed');
    expect(errorKindOf('SOMETHING_ELSE')).toBe('failed');
    // A paused order: neither a retry to spend nor a dead letter, until an operator resumes it.
    expect(errorKindOf('ORDER_PAUSED')).toBe('held');
    for (const [code, { status }] of Object.entries(ERRORS)) expect([code, status >= 400 && status < 600]).toEqual([code, true]);
  });
});
