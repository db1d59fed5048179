import type { OrderFsmErrorCode } from '../errors/error-codes.js';
import { MAX_REASON } from './ops-input.js';

/** A JSON Schema, as OpenAPI 3.0 takes it. */
export type OpsSchema = Readonly<Record<string, unknown>>;

/** One route of the operator API, described as data: a service puts it in its OpenAPI document. */
export interface OpsEndpoint {
  readonly method: 'GET' | 'POST';
  /** OpenAPI's form: `/ops/orders/{orderId}`. */
  readonly path: string;
  readonly summary: string;
  /** The error codes it may answer besides those every route may (OPS_COMMON_ERRORS). */
  readonly errors: readonly OrderFsmErrorCode[];
  /** The JSON body it takes (a POST), as the controller reads it: no other field is taken. */
  readonly body?: OpsSchema;
}

/** What every operator route may answer: no caller, another role, bad input, a dependency down, a bug. */
export const OPS_COMMON_ERRORS: readonly OrderFsmErrorCode[] = ['UNAUTHENTICATED', 'FORBIDDEN', 'VALIDATION_FAILED', 'DEPENDENCY_UNAVAILABLE', 'INTERNAL_ERROR'];

const ACT_ERRORS: readonly OrderFsmErrorCode[] = ['ORDER_NOT_FOUND', 'ORDER_STATE_NOT_MATCH', 'ORDER_BUSY', 'VERSION_CONFLICT'];

/** The routes, without their bodies (BODIES, below). */
const ROUTES: readonly OpsEndpoint[] = [
  { method: 'GET', path: '/ops/me', summary: 'Who the operator is: { name, role }', errors: [] },
  { method: 'GET', path: '/ops/machine', summary: 'The machine, the current version or any served one (version): version, versions served, states (final, automatic), events (sentBy) and transitions', errors: [] },
  {
    method: 'GET',
    path: '/ops/orders',
    summary: 'Orders newest first (order=asc for oldest), keyset-paginated: state, bizCode, sceneId, updatedBefore, paused, machineVersion, limit, cursor -> { items, nextCursor }',
    errors: [],
  },
  {
    method: 'GET',
    path: '/ops/orders/{orderId}',
    summary: "An order and its timeline: transitions (source, caller, actor, reason), messages (published?), timers, dead letters, operators' acts",
    errors: ['ORDER_NOT_FOUND'],
  },
  {
    method: 'POST',
    path: '/ops/orders/{orderId}/force',
    summary: '{ toState, reason, expectedVersion?, requestId?, timers? }: moves the order to any declared state, skipping processors and checkers; audited',
    errors: [...ACT_ERRORS, 'STATE_NOT_DECLARED', 'IDEMPOTENCY_KEY_REUSED', 'MACHINE_VERSION_NOT_SERVED', 'MACHINE_VERSION_NOT_YET_SERVED'],
  },
  { method: 'POST', path: '/ops/orders/{orderId}/pause', summary: '{ reason, expectedVersion? }: every event is refused (ORDER_PAUSED) until resumed; audited', errors: [...ACT_ERRORS, 'ORDER_PAUSED'] },
  {
    method: 'POST',
    path: '/ops/orders/{orderId}/resume',
    summary: "{ reason, expectedVersion? }: the order takes events again; its automatic work (its own machine version's) is queued again and its held timers fire; an order of a retired version is migrated where a migration is declared; audited",
    errors: [...ACT_ERRORS, 'ORDER_NOT_PAUSED', 'MACHINE_VERSION_NOT_SERVED', 'MACHINE_VERSION_NOT_YET_SERVED'],
  },
  {
    method: 'POST',
    path: '/ops/orders/{orderId}/events',
    summary: "{ event, reason, payload?, requestId?, expectedState?, expectedVersion? }: a declared event sent as the operator (its processor runs; the machine's sentBy does not apply); audited",
    errors: [...ACT_ERRORS, 'ORDER_PAUSED', 'NOT_FOUND_PROCESSOR', 'MACHINE_VERSION_NOT_SERVED', 'MACHINE_VERSION_NOT_YET_SERVED', 'CHECK_FAILED', 'IDEMPOTENCY_KEY_REUSED'],
  },
  {
    method: 'POST',
    path: '/ops/orders/{orderId}/migrate',
    summary: '{ reason, toVersion?, dryRun? }: moves the order onto a later version of the machine (default: the current), one declared migration at a time -> { orderId, dryRun, steps, order }; audited',
    errors: ['ORDER_NOT_FOUND', 'ORDER_PAUSED', 'ORDER_BUSY', 'VERSION_CONFLICT', 'MIGRATION_NOT_DECLARED'],
  },
  { method: 'GET', path: '/ops/dead-letters', summary: 'Dead-lettered automatic work, newest first: status, orderId, event, limit, cursor -> { items, nextCursor }', errors: [] },
  {
    method: 'POST',
    path: '/ops/dead-letters/{id}/redrive',
    summary: '{ reason }: runs the work again as the worker would, with the same request id: it applies once; audited',
    errors: ['NOT_FOUND', 'DEAD_LETTER_SETTLED', 'ORDER_PAUSED', 'ORDER_BUSY', 'VERSION_CONFLICT', 'MACHINE_VERSION_NOT_YET_SERVED'],
  },
  { method: 'POST', path: '/ops/dead-letters/{id}/discard', summary: '{ reason }: closes the dead letter without running it; audited', errors: ['NOT_FOUND', 'DEAD_LETTER_SETTLED'] },
  {
    method: 'GET',
    path: '/ops/stuck',
    summary: 'Orders past their automatic-work deadline, or with messages unpublished longer than unpublishedOlderThanMs, with why',
    errors: [],
  },
  { method: 'GET', path: '/ops/counts', summary: 'Orders per state, in all and per bizCode@sceneId (bizCode, sceneId filter), from a short-lived cache', errors: [] },
  { method: 'POST', path: '/ops/bulk/force', summary: '{ filter, toState, reason, dryRun?, limit?, requestId?, timers? }: force every order the filter matches', errors: ['STATE_NOT_DECLARED'] },
  { method: 'POST', path: '/ops/bulk/pause', summary: '{ filter, reason, dryRun?, limit? }: pause every order the filter matches', errors: [] },
  { method: 'POST', path: '/ops/bulk/resume', summary: '{ filter, reason, dryRun?, limit? }: resume every order the filter matches', errors: [] },
  {
    method: 'POST',
    path: '/ops/bulk/migrate',
    summary: '{ filter, reason, dryRun?, limit?, toVersion? }: migrate every order the filter matches (filter.machineVersion: those of one version), each with its steps',
    errors: [],
  },
  { method: 'POST', path: '/ops/bulk/redrive', summary: '{ filter: { ids?, orderIds?, event? }, reason, dryRun?, limit? }: redrive the open dead letters the filter matches', errors: [] },
];

const ID = { type: 'string', pattern: '^[A-Za-z0-9_.:@-]{1,64}$' };
const REASON = { type: 'string', minLength: 1, maxLength: MAX_REASON, description: 'Why, for the audit' };
const VERSION = { type: 'integer', minimum: 0, description: 'Refuse (VERSION_CONFLICT) unless the order is at this version' };
const MACHINE_VERSION = { type: 'integer', minimum: 1 };
const DRY_RUN = { type: 'boolean', default: false, description: 'Say what would be done, and do nothing' };
const LIMIT = { type: 'integer', minimum: 1, description: 'At most this many (default 100, at most the service\'s maxBulk)' };
const TIMERS = {
  type: 'array',
  maxItems: 20,
  description: 'Timers to schedule: each at fireAt (ISO 8601) or in inMs, one of them',
  items: { type: 'object', additionalProperties: false, required: ['event'], properties: { event: ID, fireAt: { type: 'string', format: 'date-time' }, inMs: { type: 'integer', minimum: 0 } } },
};
const ORDER_FILTER = {
  type: 'object',
  additionalProperties: false,
  minProperties: 1,
  description: 'Which orders: at least one field',
  properties: {
    state: ID,
    bizCode: ID,
    sceneId: ID,
    updatedBefore: { type: 'string', format: 'date-time' },
    paused: { type: 'boolean' },
    orderIds: { type: 'array', minItems: 1, items: ID },
    machineVersion: MACHINE_VERSION,
  },
};
const object = (required: string[], properties: Record<string, unknown>): OpsSchema => ({ type: 'object', additionalProperties: false, required, properties });
const REASON_ONLY = object(['reason'], { reason: REASON });
const PAUSE_OR_RESUME = object(['reason'], { reason: REASON, expectedVersion: VERSION });
const BULK = { filter: ORDER_FILTER, reason: REASON, dryRun: DRY_RUN, limit: LIMIT };

const BODIES: Readonly<Record<string, OpsSchema>> = {
  '/ops/orders/{orderId}/force': object(['toState', 'reason'], { toState: ID, reason: REASON, expectedVersion: VERSION, requestId: ID, timers: TIMERS }),
  '/ops/orders/{orderId}/pause': PAUSE_OR_RESUME,
  '/ops/orders/{orderId}/resume': PAUSE_OR_RESUME,
  '/ops/orders/{orderId}/events': object(['event', 'reason'], {
    event: { ...ID, description: 'Any event the machine declares (its sentBy does not apply to an operator)' },
    reason: REASON,
    payload: { type: 'object', additionalProperties: true },
    requestId: ID,
    expectedState: ID,
    expectedVersion: VERSION,
  }),
  '/ops/orders/{orderId}/migrate': object(['reason'], { reason: REASON, toVersion: MACHINE_VERSION, dryRun: DRY_RUN }),
  '/ops/dead-letters/{id}/redrive': REASON_ONLY,
  '/ops/dead-letters/{id}/discard': REASON_ONLY,
  '/ops/bulk/force': object(['filter', 'toState', 'reason'], { ...BULK, toState: ID, requestId: ID, timers: TIMERS }),
  '/ops/bulk/pause': object(['filter', 'reason'], BULK),
  '/ops/bulk/resume': object(['filter', 'reason'], BULK),
  '/ops/bulk/migrate': object(['filter', 'reason'], { ...BULK, toVersion: MACHINE_VERSION }),
  '/ops/bulk/redrive': object(['filter', 'reason'], {
    ...BULK,
    filter: {
      type: 'object',
      additionalProperties: false,
      minProperties: 1,
      properties: { ids: { type: 'array', minItems: 1, items: { type: 'integer', minimum: 1 } }, orderIds: { type: 'array', minItems: 1, items: ID }, event: ID },
    },
  }),
};

/**
 * Every route of OrderFsmOpsController, for a service's OpenAPI document (the library carries no
 * OpenAPI decorators), each POST with the body it takes. docs/OPERATIONS.md has the answers.
 */
export const OPS_ENDPOINTS: readonly OpsEndpoint[] = ROUTES.map((route) => (BODIES[route.path] ? { ...route, body: BODIES[route.path] } : route));
