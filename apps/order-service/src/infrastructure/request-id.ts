import { randomUUID } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { isId } from '../ids.js';

/** The header a request id arrives in, and the one every answer carries it back in. */
export const REQUEST_ID_HEADER = 'x-request-id';

/** W3C Trace Context: `version-traceid-parentid-flags`, lower-case hex; an all-zero trace id is invalid, and so is version ff. */
const TRACEPARENT = /^(?!ff)[\da-f]{2}-(?!0{32})([\da-f]{32})-(?!0{16})[\da-f]{16}-[\da-f]{2}(?:-|$)/;

/**
 * The id a request is known by, in its log lines and in its answer's `X-Request-Id`: the caller's own
 * `X-Request-Id` when it is an id the service accepts from outside (1 to 64 letters, digits and
 * `_ . : -`, see ids.ts), else the trace id of a W3C `traceparent`, else a fresh UUID. A header
 * that is too long or holds anything else is replaced, never echoed.
 */
export function requestIdOf(headers: IncomingHttpHeaders): string {
  const given = headers[REQUEST_ID_HEADER];
  if (isId(given)) return given;
  const traceparent = headers.traceparent;
  const trace = typeof traceparent === 'string' ? TRACEPARENT.exec(traceparent) : null;
  return trace ? trace[1] : randomUUID();
}
