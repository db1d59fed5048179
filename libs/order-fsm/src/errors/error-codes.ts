/**
 * Every error code order-fsm can answer with, and the HTTP status each maps to.
 * This table is the only place where codes meet HTTP.
 */
export const ERROR_HTTP_STATUS = {
  VALIDATION_FAILED: 400,
  /** No credentials, or credentials the service does not know. */
  UNAUTHENTICATED: 401,
  /** The caller is known, but its role may not do this (send this event, use this endpoint). */
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  /** The client did not send its request (headers, or the body its Content-Length promised) in time. */
  REQUEST_TIMEOUT: 408,
  ORDER_NOT_FOUND: 404,
  ORDER_STATE_NOT_MATCH: 409,
  NOT_FOUND_PROCESSOR: 409,
  ORDER_BUSY: 409,
  VERSION_CONFLICT: 409,
  /** Internal: the engine answers a consumed request id as a replay (or IDEMPOTENCY_KEY_REUSED). */
  DUPLICATE_REQUEST: 409,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  HEADERS_TOO_LARGE: 431,
  CHECK_FAILED: 422,
  IDEMPOTENCY_KEY_REUSED: 422,
  /** The caller sent more requests than its limit allows in the window; Retry-After says when to try again. */
  RATE_LIMITED: 429,
  DEPENDENCY_UNAVAILABLE: 503,
  FOUND_MORE_PROCESSOR: 500,
  TRANSITION_NOT_DECLARED: 500,
  INTERNAL_ERROR: 500,
} as const;

export type OrderFsmErrorCode = keyof typeof ERROR_HTTP_STATUS;

export function httpStatusOf(code: OrderFsmErrorCode): number {
  return ERROR_HTTP_STATUS[code];
}
