/**
 * Text the engine stores: well-formed Unicode, and times every store can hold.
 *
 * A lone UTF-16 surrogate (`"\ud800"` in JSON) has no UTF-8 form: JSON.stringify keeps it as an
 * escape that MariaDB's JSON check and PostgreSQL's jsonb both refuse, and mysql2 writes it into a
 * text column as U+FFFD. Either way what was sent is not what would be stored, so such text is
 * refused where it comes in (VALIDATION_FAILED) rather than failing the commit (a 500) or being
 * changed silently.
 */

/** True when `text` is well-formed Unicode (no lone surrogate). */
export const isWellFormedText = (text: string): boolean => (text as unknown as { isWellFormed(): boolean }).isWellFormed();

/** What is wrong with a payload, if anything: nested deeper than `maxDepth` levels, or a key or string that is not well-formed. Iterative: any depth is safe to ask about. */
export function payloadProblem(value: unknown, maxDepth: number): 'too-deep' | 'not-well-formed' | undefined {
  const stack: Array<[unknown, number]> = [[value, 1]];
  while (stack.length > 0) {
    const [current, depth] = stack.pop()!;
    if (typeof current === 'string') {
      if (!isWellFormedText(current)) return 'not-well-formed';
      continue;
    }
    if (current === null || typeof current !== 'object') continue;
    if (depth > maxDepth) return 'too-deep';
    for (const key of Object.keys(current)) {
      if (!isWellFormedText(key)) return 'not-well-formed';
      stack.push([(current as Record<string, unknown>)[key], depth + 1]);
    }
  }
  return undefined;
}

/** The message for a payload's problem. */
export const payloadProblemMessage = (problem: 'too-deep' | 'not-well-formed', maxDepth: number): string =>
  problem === 'too-deep'
    ? `nests objects deeper than ${maxDepth} levels`
    : 'holds a key or a string that is not well-formed Unicode (a lone UTF-16 surrogate, such as "\\ud800", has no UTF-8 form to store)';

/** The earliest and latest times every store keeps as they were given: 1970-01-01 to 9999-12-31 (MariaDB's DATETIME ends there). */
export const EARLIEST_TIME_MS = 0;
export const LATEST_TIME_MS = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

const ISO_TIME = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:\d{2}))?$/;
const DAYS = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/**
 * A time from ISO 8601 text (`2030-01-31`, `2030-01-31T12:00:00Z`, with an offset or milliseconds)
 * or epoch milliseconds, or undefined if it is not one: a day that the month does not have
 * (`2030-02-31`, which Date would read as March 3rd) and a time outside EARLIEST_TIME_MS to
 * LATEST_TIME_MS included. A date-time without `Z` or an offset is not taken: whose clock it is
 * would be a guess.
 */
export function strictTime(value: unknown): Date | undefined {
  let time: Date;
  if (typeof value === 'number') {
    if (!Number.isInteger(value)) return undefined;
    time = new Date(value);
  } else if (typeof value === 'string') {
    const match = ISO_TIME.exec(value);
    if (!match) return undefined;
    const [, year, month, day, hour, minute, second] = match;
    if (hour !== undefined && !/(?:Z|[+-]\d{2}:\d{2})$/.test(value)) return undefined;
    const m = Number(month);
    const d = Number(day);
    const leap = (y: number) => (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
    if (m < 1 || m > 12 || d < 1 || d > DAYS[m - 1] || (m === 2 && d === 29 && !leap(Number(year)))) return undefined;
    if (hour !== undefined && (Number(hour) > 23 || Number(minute) > 59 || (second !== undefined && Number(second) > 59))) return undefined;
    time = new Date(value);
  } else {
    return undefined;
  }
  const ms = time.getTime();
  return Number.isNaN(ms) || ms < EARLIEST_TIME_MS || ms > LATEST_TIME_MS ? undefined : time;
}
