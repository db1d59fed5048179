import { DependencyUnavailableError, DuplicateRequestError, OrderFsmError, VersionConflictError } from './order-fsm.errors.js';

const CONNECTION_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'EAI_AGAIN',
  'PROTOCOL_CONNECTION_LOST',
  'PROTOCOL_SEQUENCE_TIMEOUT',
  'ER_CON_COUNT_ERROR',
  'ER_SERVER_SHUTDOWN',
  'ER_CONNECTION_KILLED',
  'ER_QUERY_INTERRUPTED',
  'CR_SERVER_GONE_ERROR',
  'CR_SERVER_LOST',
  'CR_CONNECTION_ERROR',
  // PostgreSQL: connection exceptions (class 08), the server shutting down or starting (57P0x), too many connections.
  '08000',
  '08001',
  '08003',
  '08004',
  '08006',
  '57P01',
  '57P02',
  '57P03',
  '53300',
]);

interface DriverError {
  code?: string;
  /** PostgreSQL (pg): the constraint a 23505 violated. */
  constraint?: string;
  sqlMessage?: string;
  message?: string;
  driverError?: DriverError;
}

function driverErrorOf(error: unknown): DriverError {
  const e = (error ?? {}) as DriverError;
  return e.driverError ?? e;
}

export function isConnectionError(error: unknown): boolean {
  const e = driverErrorOf(error);
  if (e.code && CONNECTION_CODES.has(e.code)) return true;
  return /connection (is )?(lost|closed|refused|terminated)|pool is closed|can't add new command when connection is in closed state/i.test(
    e.message ?? '',
  );
}

/**
 * True when the database refused a row because a unique key already holds its value: MySQL and
 * MariaDB (ER_DUP_ENTRY), SQLite (UNIQUE or PRIMARY KEY constraint), PostgreSQL (23505). For a
 * processor's save() that turns a duplicate into a business answer, on whichever database it runs.
 */
export function isUniqueViolation(error: unknown): boolean {
  const e = driverErrorOf(error) as DriverError & { errno?: number };
  if (e.code === 'ER_DUP_ENTRY' || e.code === '23505' || e.code === 'SQLITE_CONSTRAINT_UNIQUE' || e.code === 'SQLITE_CONSTRAINT_PRIMARYKEY') return true;
  return /^(UNIQUE|PRIMARY KEY) constraint failed/.test(e.message ?? '') || /SQLITE_CONSTRAINT.*UNIQUE constraint failed/.test(e.message ?? '');
}

/**
 * Turns what the driver says into the engine's errors; anything it does not recognise (a bug in a
 * processor's save(), say) goes through unchanged.
 */
export function translateDbError(
  error: unknown,
  write?: { readonly order: { readonly orderId: string; readonly version: number }; readonly requestId: string },
): unknown {
  if (error instanceof OrderFsmError) return error;
  const e = driverErrorOf(error);
  if (isConnectionError(error)) return new DependencyUnavailableError('database', error);
  if (!write) return error;
  const text = e.sqlMessage ?? e.message ?? '';
  if (e.code === 'ER_DUP_ENTRY') {
    if (text.includes('uq_fsm_transition_request') || text.includes('uq_fsm_late_event_request')) return new DuplicateRequestError(write.requestId);
    if (text.includes('uq_fsm_transition_order_version') || (text.includes('PRIMARY') && write.order.version === 0)) {
      return new VersionConflictError(write.order.orderId, write.order.version);
    }
  }
  if (e.code === '23505') {
    const constraint = e.constraint ?? text;
    if (constraint.includes('uq_fsm_transition_request') || constraint.includes('uq_fsm_late_event_request')) return new DuplicateRequestError(write.requestId);
    if (constraint.includes('uq_fsm_transition_order_version') || (constraint.includes('fsm_order_pkey') && write.order.version === 0)) {
      return new VersionConflictError(write.order.orderId, write.order.version);
    }
  }
  // SQLite names the columns of the key it refused.
  const sqlite = /UNIQUE constraint failed: (.*)$/m.exec(text)?.[1];
  if (sqlite) {
    if (/fsm_(transition|late_event)\.request_id/.test(sqlite)) return new DuplicateRequestError(write.requestId);
    if (/fsm_transition\.order_id, fsm_transition\.version/.test(sqlite) || (/fsm_order\.id/.test(sqlite) && write.order.version === 0)) {
      return new VersionConflictError(write.order.orderId, write.order.version);
    }
  }
  // PostgreSQL's deadlock and serialization failures: the transition lost a race, as with MySQL's.
  if (e.code === '40P01' || e.code === '40001') return new VersionConflictError(write.order.orderId, write.order.version);
  // The log row sent in one batch with the fence: its order id is NULL when the fence wrote nothing.
  if (e.code === 'ER_BAD_NULL_ERROR' && text.includes("'order_id'")) return new VersionConflictError(write.order.orderId, write.order.version);
  if (e.code === 'ER_LOCK_DEADLOCK' || e.code === 'ER_LOCK_WAIT_TIMEOUT') {
    return new VersionConflictError(write.order.orderId, write.order.version);
  }
  return error;
}
