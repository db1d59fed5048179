/**
 * What a failure means to whoever sent the request, and so what it should do next:
 * - `held`: an operator paused the order; nothing applies to it, and nothing is spent, until an
 *   operator resumes it, which queues its automatic work again and fires its due timers.
 * - `refused`: the request itself is wrong or not allowed; the same request will be refused again.
 * - `moved-on`: the order is no longer where the request expected it (another state, no transition
 *   for the event there); nothing is left for this request to do.
 * - `transient`: a failure of the moment (a dependency, the order's lock, a concurrent writer, a rate
 *   limit); the same request again shortly may apply, and counts as no failed attempt.
 * - `failed`: the request was tried and did not apply (a check said no, a bug); trying again later
 *   may help, a limited number of times.
 */
export type ErrorKind = 'refused' | 'moved-on' | 'transient' | 'failed' | 'held';

/**
 * Every error code order-fsm can answer with: its HTTP status and its kind. This table is the only
 * place where codes meet HTTP, and the only place that says which failures are worth another try:
 * the HTTP filter, the worker, the timers and both brokers' redelivery read it.
 */
export const ERRORS = {
  VALIDATION_FAILED: { status: 400, kind: 'refused' },
  /** No credentials, or credentials the service does not know. */
  UNAUTHENTICATED: { status: 401, kind: 'refused' },
  /** The caller is known, but its role may not do this (send this event, use this endpoint). */
  FORBIDDEN: { status: 403, kind: 'refused' },
  NOT_FOUND: { status: 404, kind: 'refused' },
  /** The path exists, but not for this method; the `Allow` header lists those it takes. */
  METHOD_NOT_ALLOWED: { status: 405, kind: 'refused' },
  /** The client did not send its request (headers, or the body its Content-Length promised) in time. */
  REQUEST_TIMEOUT: { status: 408, kind: 'transient' },
  ORDER_NOT_FOUND: { status: 404, kind: 'refused' },
  ORDER_STATE_NOT_MATCH: { status: 409, kind: 'moved-on' },
  NOT_FOUND_PROCESSOR: { status: 409, kind: 'moved-on' },
  ORDER_BUSY: { status: 409, kind: 'transient' },
  /** An operator paused the order: every event is refused, from any source, until it is resumed. */
  ORDER_PAUSED: { status: 409, kind: 'held' },
  /** Resume of an order that is not paused. */
  ORDER_NOT_PAUSED: { status: 409, kind: 'refused' },
  /** A dead letter an operator already redrove or discarded. */
  DEAD_LETTER_SETTLED: { status: 409, kind: 'refused' },
  /** The order moved while the request ran; nothing was written. Read again, then it applies or has moved on. */
  VERSION_CONFLICT: { status: 409, kind: 'transient' },
  /** Internal: the engine answers a consumed request id as a replay (or IDEMPOTENCY_KEY_REUSED). */
  DUPLICATE_REQUEST: { status: 409, kind: 'transient' },
  PAYLOAD_TOO_LARGE: { status: 413, kind: 'refused' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, kind: 'refused' },
  HEADERS_TOO_LARGE: { status: 431, kind: 'refused' },
  CHECK_FAILED: { status: 422, kind: 'failed' },
  IDEMPOTENCY_KEY_REUSED: { status: 422, kind: 'refused' },
  /**
   * The order follows an earlier machine version this service no longer serves, and no migration
   * moves it on: serve that version again (previousMachines) or declare a migration from it.
   */
  MACHINE_VERSION_NOT_SERVED: { status: 409, kind: 'refused' },
  /**
   * The order follows a machine version newer than this instance's current one: an instance of a
   * newer release made or migrated it, during a rolling deploy. Transient (503): an instance that
   * serves the version applies the same request; automatic work waits for one, patiently, a timer
   * or a held event is tried again rather than spent, and nothing is dead-lettered or flagged.
   */
  MACHINE_VERSION_NOT_YET_SERVED: { status: 503, kind: 'transient' },
  /** A migration asked of an order whose version has no migration declared from it. */
  MIGRATION_NOT_DECLARED: { status: 409, kind: 'refused' },
  /** A forced move to a state the machine does not declare (or to its virtual initial state). */
  STATE_NOT_DECLARED: { status: 422, kind: 'refused' },
  /** The caller sent more requests than its limit allows in the window; Retry-After says when to try again. */
  RATE_LIMITED: { status: 429, kind: 'transient' },
  DEPENDENCY_UNAVAILABLE: { status: 503, kind: 'transient' },
  FOUND_MORE_PROCESSOR: { status: 500, kind: 'refused' },
  TRANSITION_NOT_DECLARED: { status: 500, kind: 'refused' },
  INTERNAL_ERROR: { status: 500, kind: 'failed' },
} as const satisfies Record<string, { status: number; kind: ErrorKind }>;

export type OrderFsmErrorCode = keyof typeof ERRORS;

/** Each code's HTTP status, read from ERRORS. */
export const ERROR_HTTP_STATUS = Object.fromEntries(Object.entries(ERRORS).map(([code, { status }]) => [code, status])) as {
  readonly [C in OrderFsmErrorCode]: (typeof ERRORS)[C]['status'];
};

export function httpStatusOf(code: OrderFsmErrorCode): number {
  return ERRORS[code].status;
}

/** What a failure with this code means (see ErrorKind); anything that is not an order-fsm code is `failed`. */
export function errorKindOf(code: string): ErrorKind {
  return (ERRORS as Record<string, { kind: ErrorKind }>)[code]?.kind ?? 'failed';
}
