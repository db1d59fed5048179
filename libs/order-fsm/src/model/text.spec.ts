import { describe, expect, it } from '@jest/globals';
import { EARLIEST_TIME_MS, LATEST_TIME_MS, isWellFormedText, payloadProblem, strictTime } from './text.js';

describe('well-formed text', () => {
  it('tells a lone surrogate from a pair', () => {
    expect(isWellFormedText('ré 🚕 請求')).toBe(true);
    expect(isWellFormedText('\ud83d\ude95')).toBe(true);
    expect(isWellFormedText('a\ud800')).toBe(false);
    expect(isWellFormedText('\udc00b')).toBe(false);
    expect(isWellFormedText('\ude95\ud83d')).toBe(false);
  });

  it('finds a payload problem in any string or key, at any depth', () => {
    expect(payloadProblem({ a: ['x', { b: 'ré' }], n: 1, t: true, z: null }, 32)).toBeUndefined();
    expect(payloadProblem({ a: ['x', { b: 'r\ud800' }] }, 32)).toBe('not-well-formed');
    expect(payloadProblem({ a: { '\udfff': 1 } }, 32)).toBe('not-well-formed');
    expect(payloadProblem({ a: { b: { c: {} } } }, 3)).toBe('too-deep');
    expect(payloadProblem({ a: { b: {} } }, 3)).toBeUndefined();
    let deep: unknown = 'x';
    for (let i = 0; i < 100_000; i++) deep = [deep];
    expect(payloadProblem(deep, 32)).toBe('too-deep');
    expect(payloadProblem(undefined, 32)).toBeUndefined();
  });
});

describe('strictTime', () => {
  it('reads ISO 8601 with a zone, a date alone as UTC, and epoch milliseconds', () => {
    expect(strictTime('2030-01-31T12:00:00Z')?.toISOString()).toBe('2030-01-31T12:00:00.000Z');
    expect(strictTime('2030-01-31T12:00:00.250+02:00')?.toISOString()).toBe('2030-01-31T10:00:00.250Z');
    expect(strictTime('2030-01-31T12:00Z')?.toISOString()).toBe('2030-01-31T12:00:00.000Z');
    expect(strictTime('2030-01-31')?.toISOString()).toBe('2030-01-31T00:00:00.000Z');
    expect(strictTime('2028-02-29')?.toISOString()).toBe('2028-02-29T00:00:00.000Z');
    expect(strictTime(1_900_000_000_000)?.getTime()).toBe(1_900_000_000_000);
    expect(strictTime(EARLIEST_TIME_MS)?.getTime()).toBe(0);
    expect(strictTime(LATEST_TIME_MS)?.toISOString()).toBe('9999-12-31T23:59:59.999Z');
  });

  it.each([
    ['a day the month does not have', '2030-02-31'],
    ['February 29th of a common year', '2030-02-29'],
    ['February 29th of 2100', '2100-02-29'],
    ['month 13', '2030-13-01'],
    ['hour 24', '2030-01-31T24:00:00Z'],
    ['minute 60', '2030-01-31T12:60:00Z'],
    ['a local time, whose zone would be a guess', '2030-01-31T12:00:00'],
    ['a year past 9999', '+010000-01-01T00:00:00Z'],
    ['a year before 1970', '1969-12-31T23:59:59Z'],
    ['the year 0', '0000-01-01T00:00:00Z'],
    ['text', 'yesterday'],
    ['a date with trailing text', '2030-01-31 and more'],
    ['the last time Date can hold', 8_640_000_000_000_000],
    ['a time past 9999', LATEST_TIME_MS + 1],
    ['a time before 1970', -1],
    ['a fraction of a millisecond', 1.5],
    ['NaN', Number.NaN],
    ['an object', { at: '2030-01-31' }],
  ])('refuses %s', (_what, value) => {
    expect(strictTime(value)).toBeUndefined();
  });
});
