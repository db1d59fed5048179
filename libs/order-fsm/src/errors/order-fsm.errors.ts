import type { ServiceResult } from '../model/service-result.js';
import { OrderFsmErrorCode, httpStatusOf } from './error-codes.js';

export type ErrorDetails = Record<string, unknown>;

/** Base of every error order-fsm raises while handling an event: a stable code, an actionable message. */
export class OrderFsmError extends Error {
  constructor(
    readonly code: OrderFsmErrorCode,
    message: string,
    readonly details?: ErrorDetails,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = new.target.name;
  }

  get httpStatus(): number {
    return httpStatusOf(this.code);
  }
}

export class ValidationFailedError extends OrderFsmError {
  constructor(message: string, details?: ErrorDetails) {
    super('VALIDATION_FAILED', message, details);
  }
}

export class PayloadTooLargeError extends OrderFsmError {
  constructor(limit: string) {
    super('PAYLOAD_TOO_LARGE', `request body is larger than ${limit}`, { limit });
  }
}

export class OrderNotFoundError extends OrderFsmError {
  constructor(orderId: string) {
    super('ORDER_NOT_FOUND', `order ${orderId} does not exist`, { orderId });
  }
}

/** A request without credentials the service knows (no `Authorization: Bearer`, or an unknown token). */
export class UnauthenticatedError extends OrderFsmError {
  constructor(message = 'send Authorization: Bearer <token> with a token the service knows') {
    super('UNAUTHENTICATED', message);
  }
}

/** A known caller whose role may not use this endpoint. */
export class ForbiddenError extends OrderFsmError {
  constructor(role: string, allowed: readonly string[]) {
    super('FORBIDDEN', `the ${role} role may not do this; ${allowed.join(', ')} may`, { role, allowed: [...allowed] });
  }
}

/** The event's sender (a caller's role, or the system) is not among those the machine declares for it. */
export class EventNotAllowedError extends OrderFsmError {
  constructor(orderId: string, event: string, sender: string | undefined, allowed: readonly string[]) {
    super(
      'FORBIDDEN',
      sender === undefined
        ? `${event} needs a caller: the machine declares who sends it (${allowed.join(', ')})`
        : `${sender} may not send ${event}: the machine declares it for ${allowed.join(', ')}`,
      { orderId, event, ...(sender !== undefined && { sender }), allowed: [...allowed] },
    );
  }

  /** The worker or the sweeper sends only the automatic work of the order's state. */
  static notAutomatic(orderId: string, event: string, source: string, state: string): EventNotAllowedError {
    const error = new EventNotAllowedError(orderId, event, source, []);
    return Object.assign(error, { message: `the ${source} sends only automatic work, and ${event} is not ${state}'s` });
  }
}

export class OrderStateNotMatchError extends OrderFsmError {
  constructor(orderId: string, expected: string, actual: string) {
    super('ORDER_STATE_NOT_MATCH', `order ${orderId} is in state ${actual}, not ${expected}`, {
      orderId,
      expectedState: expected,
      actualState: actual,
    });
  }

  static version(orderId: string, expected: number, actual: number): OrderStateNotMatchError {
    const error = new OrderStateNotMatchError(orderId, `version ${expected}`, `version ${actual}`);
    Object.assign(error, { message: `order ${orderId} is at version ${actual}, not ${expected}` });
    return error;
  }
}

export class ProcessorNotFoundError extends OrderFsmError {
  constructor(orderId: string, state: string, event: string, bizCode: string, sceneId: string) {
    super('NOT_FOUND_PROCESSOR', `event ${event} is not allowed for order ${orderId} in state ${state}`, {
      orderId,
      state,
      event,
      bizCode,
      sceneId,
    });
  }
}

export class AmbiguousProcessorError extends OrderFsmError {
  constructor(orderId: string, state: string, event: string, processors: readonly string[]) {
    super(
      'FOUND_MORE_PROCESSOR',
      `more than one processor accepts event ${event} in state ${state}: ${processors.join(', ')}`,
      { orderId, state, event, processors: [...processors] },
    );
  }
}

/** A processor chose a target that the machine does not declare: a bug, refused before anything is written. */
export class TransitionNotDeclaredError extends OrderFsmError {
  constructor(orderId: string, from: string, event: string, to: string, processor: string) {
    super('TRANSITION_NOT_DECLARED', `${processor} tried ${from} -${event}-> ${to}, which the machine does not declare`, {
      orderId,
      from,
      event,
      to,
      processor,
    });
  }
}

/** An operator paused the order; it takes no event until it is resumed. */
export class OrderPausedError extends OrderFsmError {
  constructor(orderId: string, paused: { at: Date; reason: string }) {
    super('ORDER_PAUSED', `order ${orderId} is paused by an operator (${paused.reason}); it takes no event until it is resumed`, {
      orderId,
      pausedAt: paused.at.toISOString(),
      reason: paused.reason,
    });
  }
}

/** The order's machine version is not served here, and no migration moves it on. */
export class MachineVersionNotServedError extends OrderFsmError {
  constructor(orderId: string, machine: string, version: number, served: readonly number[]) {
    super(
      'MACHINE_VERSION_NOT_SERVED',
      `order ${orderId} follows ${machine} v${version}, which this service does not serve (it serves v${served.join(', v')}) and no migration moves on from`,
      { orderId, machineVersion: version, served: [...served] },
    );
  }
}

/**
 * The order follows a machine version newer than this instance's current one (an instance of a newer
 * release made or migrated it): another instance serves it; the same request, sent again, applies there.
 */
export class MachineVersionNotYetServedError extends OrderFsmError {
  constructor(orderId: string, machine: string, version: number, served: readonly number[]) {
    super(
      'MACHINE_VERSION_NOT_YET_SERVED',
      `order ${orderId} follows ${machine} v${version}, newer than this instance serves (it serves v${served.join(', v')}); an instance of a newer release serves it: try again`,
      { orderId, machineVersion: version, served: [...served] },
    );
  }
}

/** A migration asked of an order whose machine version has no migration declared from it. */
export class MigrationNotDeclaredError extends OrderFsmError {
  constructor(orderId: string, machine: string, version: number) {
    super('MIGRATION_NOT_DECLARED', `order ${orderId} follows ${machine} v${version}, and no migration is declared from v${version}`, { orderId, machineVersion: version });
  }
}

/** Resume of an order that is not paused. */
export class OrderNotPausedError extends OrderFsmError {
  constructor(orderId: string) {
    super('ORDER_NOT_PAUSED', `order ${orderId} is not paused`, { orderId });
  }
}

/** A forced move to a state the machine does not declare. */
export class StateNotDeclaredError extends OrderFsmError {
  constructor(state: string, declared: readonly string[], orderId?: string) {
    super('STATE_NOT_DECLARED', `the machine declares no state ${state}; an order can be moved to ${declared.join(', ')}`, {
      ...(orderId !== undefined && { orderId }),
      state,
      declared: [...declared],
    });
  }
}

/** A dead letter that was already redriven or discarded. */
export class DeadLetterSettledError extends OrderFsmError {
  constructor(id: number, status: string, settledBy: string | null) {
    super('DEAD_LETTER_SETTLED', `dead letter ${id} was already ${status}${settledBy ? ` by ${settledBy}` : ''}`, { id, status, ...(settledBy && { settledBy }) });
  }
}

export class OrderBusyError extends OrderFsmError {
  constructor(orderId: string, waitedMs: number) {
    super('ORDER_BUSY', `order ${orderId} is being changed by another request; retry later`, { orderId, waitedMs });
  }
}

export class VersionConflictError extends OrderFsmError {
  constructor(orderId: string, expectedVersion: number) {
    super('VERSION_CONFLICT', `order ${orderId} changed concurrently (expected version ${expectedVersion}); nothing was applied`, {
      orderId,
      expectedVersion,
    });
  }
}

/** The request id was consumed by a different request: a client bug, never retried as is. */
export class IdempotencyKeyReusedError extends OrderFsmError {
  constructor(requestId: string) {
    super('IDEMPOTENCY_KEY_REUSED', `request id ${requestId} was already used for a different request`, { requestId });
  }
}

/** The log already has this request id; the engine answers it as a replay. */
export class DuplicateRequestError extends OrderFsmError {
  constructor(requestId: string) {
    super('DUPLICATE_REQUEST', `request ${requestId} has already been applied`, { requestId });
  }
}

/** A checker, an action, a plugin or save returned a failed ServiceResult. */
export class CheckFailedError extends OrderFsmError {
  constructor(
    step: string,
    reason: string,
    message: string,
    extra?: ErrorDetails,
    /** The failed result as the step returned it; checkers are released with it. */
    readonly result?: ServiceResult,
  ) {
    super('CHECK_FAILED', message, { ...extra, reason, step });
  }
}

/** The caller went over its request limit; nothing was done. */
export class RateLimitedError extends OrderFsmError {
  constructor(retryAfterSeconds: number, limit: number, windowMs: number) {
    super('RATE_LIMITED', `more than ${limit} requests in ${windowMs / 1000} s; retry in ${retryAfterSeconds} s`, { retryAfterSeconds, limit, windowMs });
  }
}

/** A method the path does not take: `allow` lists those it does (the answer's `Allow` header). */
export class MethodNotAllowedError extends OrderFsmError {
  constructor(method: string, path: string, allow: readonly string[]) {
    super('METHOD_NOT_ALLOWED', `${path} does not take ${method}; it takes ${allow.join(', ')}`, { allow: [...allow] });
  }
}

export class DependencyUnavailableError extends OrderFsmError {
  constructor(dependency: string, cause?: unknown) {
    super('DEPENDENCY_UNAVAILABLE', `${dependency} is unavailable; retry later`, { dependency }, { cause });
  }
}

/** A broken processor setup found at bootstrap: the application must not start. */
export class OrderFsmConfigurationError extends Error {
  constructor(
    readonly problems: readonly string[],
    /** What the machine's validation warned about besides (the service would have started with those). */
    readonly warnings: readonly string[] = [],
    /** The machine's validation issues among them, with their codes (what fsm:validate prints). */
    readonly issues: ReadonlyArray<{ readonly severity: 'error' | 'warning'; readonly code: string; readonly message: string }> = [],
  ) {
    super(`order-fsm cannot start:\n  - ${problems.join('\n  - ')}`);
    this.name = 'OrderFsmConfigurationError';
  }
}
