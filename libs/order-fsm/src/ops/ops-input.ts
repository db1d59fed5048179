import { ValidationFailedError } from '../errors/order-fsm.errors.js';
import { MAX_ID_LENGTH, MAX_PAYLOAD_DEPTH } from '../order-fsm.constants.js';
import { isWellFormedText, payloadProblem, payloadProblemMessage, strictTime } from '../model/text.js';

/**
 * Reading what an operator sends, by hand: the library depends on no validation package. Every
 * refusal is VALIDATION_FAILED naming the field, before anything is read or written.
 */

/** Ids in paths and filters: what the engine accepts as an order id, a state, an event. */
const ID = /^[A-Za-z0-9_.:@-]{1,64}$/;
export const MAX_REASON = 512;

const fail = (field: string, problem: string): never => {
  throw new ValidationFailedError(`${field} ${problem}`, { field });
};

/** An object of the fields named, and no others. */
export function objectOf(value: unknown, what: string, allowed: readonly string[]): Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) fail(what, 'must be a JSON object');
  const record = value as Record<string, unknown>;
  const unknown = Object.keys(record).filter((key) => !allowed.includes(key));
  if (unknown.length > 0) {
    throw new ValidationFailedError(`${what} has ${unknown.map((k) => JSON.stringify(k)).join(', ')}, which it does not take; it takes ${allowed.join(', ')}`, {
      field: unknown[0],
      allowed: [...allowed],
    });
  }
  return record;
}

/** A query string's value: one string, never repeated. */
function single(value: unknown, field: string): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string') return fail(field, 'must be given once');
  return value;
}

export function id(value: unknown, field: string): string {
  if (typeof value !== 'string' || !ID.test(value)) fail(field, `must be 1 to ${MAX_ID_LENGTH} letters, digits or "_ . : @ -"`);
  return value as string;
}

export function optionalId(value: unknown, field: string, fromQuery = false): string | undefined {
  const text = fromQuery ? single(value, field) : value;
  return text === undefined ? undefined : id(text, field);
}

export function reason(value: unknown, field = 'reason'): string {
  if (value === undefined) fail(field, 'is required: say why, for the audit');
  if (typeof value !== 'string' || value.trim().length === 0) fail(field, 'must be a non-blank string');
  if ((value as string).length > MAX_REASON) fail(field, `must be at most ${MAX_REASON} characters`);
  if (!isWellFormedText(value as string)) fail(field, 'must be well-formed Unicode (it holds a lone UTF-16 surrogate)');
  return (value as string).trim();
}

export function optionalBoolean(value: unknown, field: string, fromQuery = false): boolean | undefined {
  const raw = fromQuery ? single(value, field) : value;
  if (raw === undefined) return undefined;
  if (raw === true || raw === 'true') return true;
  if (raw === false || raw === 'false') return false;
  return fail(field, 'must be true or false');
}

export function optionalVersion(value: unknown, field: string): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) fail(field, 'must be a whole number');
  return value as number;
}

/** A whole number from a query string or a body, within [min, max]. */
export function optionalInteger(value: unknown, field: string, min: number, max: number, fromQuery = false): number | undefined {
  const raw = fromQuery ? single(value, field) : value;
  if (raw === undefined) return undefined;
  const n = typeof raw === 'string' && /^\d{1,12}$/.test(raw) ? Number(raw) : raw;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < min || n > max) fail(field, `must be a whole number from ${min} to ${max}`);
  return n as number;
}

/**
 * A time as ISO 8601 with its zone (or a date alone, read as UTC), or epoch milliseconds in a body,
 * from 1970 to 9999 (what every store keeps as given): strictTime.
 */
export function optionalTime(value: unknown, field: string, fromQuery = false): Date | undefined {
  const raw = fromQuery ? single(value, field) : value;
  if (raw === undefined) return undefined;
  const time = strictTime(raw);
  if (!time) fail(field, 'must be a time from 1970 to 9999: ISO 8601 with Z or an offset (2030-01-31T12:00:00Z), a date (2030-01-31), or epoch milliseconds in a body');
  return time!;
}

export function oneOf<T extends string>(value: unknown, field: string, allowed: readonly T[], fromQuery = false): T | undefined {
  const raw = fromQuery ? single(value, field) : value;
  if (raw === undefined) return undefined;
  if (typeof raw !== 'string' || !(allowed as readonly string[]).includes(raw)) fail(field, `must be one of ${allowed.join(', ')}`);
  return raw as T;
}

export function idList(value: unknown, field: string, max: number): string[] | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value) || value.length === 0 || value.length > max) fail(field, `must be a list of 1 to ${max} ids`);
  return [...new Set((value as unknown[]).map((item, index) => id(item, `${field}[${index}]`)))];
}

export function integerList(value: unknown, field: string, max: number): number[] | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value) || value.length === 0 || value.length > max) fail(field, `must be a list of 1 to ${max} ids`);
  return [...new Set((value as unknown[]).map((item, index) => optionalInteger(item, `${field}[${index}]`, 1, Number.MAX_SAFE_INTEGER)!))];
}

/** An event's payload: a JSON object, nested no deeper than the engine allows. */
export function optionalPayload(value: unknown, field = 'payload'): Record<string, unknown> | undefined {
  if (value === undefined) return undefined;
  if (value === null || typeof value !== 'object' || Array.isArray(value)) fail(field, 'must be a JSON object');
  const problem = payloadProblem(value, MAX_PAYLOAD_DEPTH);
  if (problem) fail(field, payloadProblemMessage(problem, MAX_PAYLOAD_DEPTH));
  return value as Record<string, unknown>;
}

/** An opaque page cursor: the keyset of the last item, as base64url JSON. */
export function encodeCursor(keyset: readonly unknown[]): string {
  return Buffer.from(JSON.stringify(keyset)).toString('base64url');
}

export function decodeCursor(value: unknown, field: string, check: (keyset: unknown[]) => boolean): unknown[] | undefined {
  const raw = single(value, field);
  if (raw === undefined) return undefined;
  let keyset: unknown;
  try {
    keyset = /^[A-Za-z0-9_-]{1,400}$/.test(raw) ? JSON.parse(Buffer.from(raw, 'base64url').toString('utf8')) : undefined;
  } catch {
    keyset = undefined;
  }
  if (!Array.isArray(keyset) || !check(keyset)) fail(field, 'is not a cursor this list answered: pass nextCursor as it came');
  return keyset as unknown[];
}
