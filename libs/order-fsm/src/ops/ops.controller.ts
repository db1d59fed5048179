import { Body, Controller, Get, HttpCode, Inject, Param, Post, Query, UseFilters, UseGuards } from '@nestjs/common';
import { servedMachine } from '../diagram/order-fsm-diagrams.js';
import { ValidationFailedError } from '../errors/order-fsm.errors.js';
import { OrderFsmExceptionFilter } from '../http/order-fsm-exception.filter.js';
import type { Caller } from '../model/event.js';
import { ORDER_FSM_OPTIONS } from '../order-fsm.constants.js';
import type { ResolvedOrderFsmOptions } from '../order-fsm.options.js';
import type { TimerWrite } from '../ports/order-store.js';
import {
  decodeCursor,
  encodeCursor,
  id,
  idList,
  integerList,
  objectOf,
  oneOf,
  optionalBoolean,
  optionalId,
  optionalInteger,
  optionalPayload,
  optionalTime,
  optionalVersion,
  reason,
} from './ops-input.js';
import {
  actionView,
  deadLetterView,
  messageView,
  orderSummaryView,
  orderView,
  outcomeView,
  timerView,
  transitionView,
  workAttemptView,
  lateEventView,
} from './ops-views.js';
import { Operator, OpsGuard } from './ops.guard.js';
import { OPS_OPTIONS, type ResolvedOpsOptions } from './ops.options.js';
import { type BulkAction, type OrderFilter, OrderFsmOps } from './ops.service.js';

const PAGE = { default: 50, max: 500 };
const STUCK = { default: 100, max: 1_000 };
const BULK_DEFAULT = 100;
const ORDER_FILTER_FIELDS = ['state', 'bizCode', 'sceneId', 'updatedBefore', 'paused', 'orderIds', 'machineVersion'] as const;
/** A machine version as operators name it: a whole number from 1. */
const MAX_MACHINE_VERSION = 1_000_000;

/** `/ops/orders/:orderId`: the same ids the engine takes. */
const orderIdOf = (value: string) => id(value, 'orderId');
const deadLetterIdOf = (value: string) => optionalInteger(value, 'id', 1, Number.MAX_SAFE_INTEGER, true)!;

function orderFilter(value: unknown, max: number): OrderFilter {
  const filter = objectOf(value, 'filter', ORDER_FILTER_FIELDS);
  const parsed: OrderFilter = {
    state: optionalId(filter.state, 'filter.state'),
    bizCode: optionalId(filter.bizCode, 'filter.bizCode'),
    sceneId: optionalId(filter.sceneId, 'filter.sceneId'),
    updatedBefore: optionalTime(filter.updatedBefore, 'filter.updatedBefore'),
    paused: optionalBoolean(filter.paused, 'filter.paused'),
    orderIds: idList(filter.orderIds, 'filter.orderIds', max),
    machineVersion: optionalInteger(filter.machineVersion, 'filter.machineVersion', 1, MAX_MACHINE_VERSION),
  };
  // A bulk act over every order there is would be one typo away: a filter must name something.
  if (Object.values(parsed).every((v) => v === undefined)) {
    throw new ValidationFailedError(`filter must name at least one of ${ORDER_FILTER_FIELDS.join(', ')}`, { field: 'filter' });
  }
  return parsed;
}

/** Timers a forced move schedules: `{ event, fireAt }` (ISO 8601) or `{ event, inMs }`. */
function timersOf(value: unknown): Array<TimerWrite & { inMs?: number }> | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value) || value.length > 20) throw new ValidationFailedError('timers must be a list of at most 20 timers', { field: 'timers' });
  return value.map((item, index) => {
    const timer = objectOf(item, `timers[${index}]`, ['event', 'fireAt', 'inMs']);
    const event = id(timer.event, `timers[${index}].event`);
    const fireAt = optionalTime(timer.fireAt, `timers[${index}].fireAt`);
    const inMs = optionalInteger(timer.inMs, `timers[${index}].inMs`, 0, 366 * 24 * 3_600_000);
    if ((fireAt === undefined) === (inMs === undefined)) throw new ValidationFailedError(`timers[${index}] needs fireAt or inMs, one of them`, { field: `timers[${index}]` });
    return inMs === undefined ? { event, fireAt: fireAt! } : { event, fireAt: new Date(Date.now() + inMs), inMs };
  });
}

/**
 * The operator API, under `/ops`: lists and timelines, force, pause, resume, events, migrations,
 * dead letters, stuck orders, bulk acts with dry runs, and the fleet's counts. Every route is behind OpsGuard (the
 * service's callers, its operator roles); every act needs a reason and is audited.
 * docs/OPERATIONS.md is the contract.
 */
@Controller('ops')
@UseGuards(OpsGuard)
@UseFilters(OrderFsmExceptionFilter)
export class OrderFsmOpsController {
  constructor(
    private readonly ops: OrderFsmOps,
    @Inject(ORDER_FSM_OPTIONS) private readonly fsm: ResolvedOrderFsmOptions,
    @Inject(OPS_OPTIONS) private readonly options: ResolvedOpsOptions,
  ) {}

  /** Who the operator is, as the service told the API. */
  @Get('me')
  me(@Operator() operator: Caller) {
    return { name: operator.name, role: operator.role };
  }

  /**
   * The machine: its states (final, automatic), events and transitions, for a console to draw and
   * offer; the current version, or any served one (`?version=`), with the versions served.
   */
  @Get('machine')
  machine(@Query() query: Record<string, unknown>) {
    objectOf(query, 'the query', ['version']);
    const version = optionalInteger(query.version, 'version', 1, Number.MAX_SAFE_INTEGER, true);
    const machine = version === undefined ? this.fsm.machine : servedMachine(this.fsm.machines, version);
    return {
      name: machine.name,
      // The version described (the current one unless asked), and every version served.
      version: machine.version,
      versions: [...this.fsm.machines.keys()].sort((a, b) => a - b),
      initial: machine.initial,
      states: machine.stateNames.filter((state) => state !== machine.initial).map((state) => {
        const spec = machine.stateSpec(state);
        return {
          name: state,
          final: machine.isFinal(state),
          description: spec?.description ?? null,
          automatic: spec?.automatic ? { event: spec.automatic.event, bizCode: spec.automatic.bizCode ?? null, sceneId: spec.automatic.sceneId ?? null } : null,
        };
      }),
      events: [...machine.events].map((event) => ({ name: event, sentBy: machine.sendersOf(event) ? [...machine.sendersOf(event)!] : null })),
      transitions: machine.transitions,
    };
  }

  @Get('orders')
  async listOrders(@Query() query: Record<string, unknown>) {
    objectOf(query, 'the query', ['state', 'bizCode', 'sceneId', 'updatedBefore', 'paused', 'machineVersion', 'order', 'limit', 'cursor']);
    const cursor = decodeCursor(query.cursor, 'cursor', (k) => k.length === 2 && Number.isSafeInteger(k[0]) && typeof k[1] === 'string');
    const page = await this.ops.listOrders(
      {
        state: optionalId(query.state, 'state', true),
        bizCode: optionalId(query.bizCode, 'bizCode', true),
        sceneId: optionalId(query.sceneId, 'sceneId', true),
        updatedBefore: optionalTime(query.updatedBefore, 'updatedBefore', true),
        paused: optionalBoolean(query.paused, 'paused', true),
        machineVersion: optionalInteger(query.machineVersion, 'machineVersion', 1, MAX_MACHINE_VERSION, true),
      },
      oneOf(query.order, 'order', ['desc', 'asc'] as const, true) ?? 'desc',
      optionalInteger(query.limit, 'limit', 1, PAGE.max, true) ?? PAGE.default,
      cursor && { updatedAt: new Date(cursor[0] as number), orderId: cursor[1] as string },
    );
    return {
      items: page.items.map(orderSummaryView),
      nextCursor: page.next ? encodeCursor([page.next.updatedAt.getTime(), page.next.orderId]) : null,
    };
  }

  @Get('orders/:orderId')
  async order(@Param('orderId') orderId: string) {
    const { order, history, automaticWork } = await this.ops.orderDetail(orderIdOf(orderId));
    return {
      order: orderView(order),
      automaticWork: automaticWork && { event: automaticWork.event, dueAt: automaticWork.dueAt?.toISOString() ?? null },
      transitions: history.transitions.map(transitionView),
      messages: history.messages.map(messageView),
      timers: history.timers.map((timer) => timerView(timer, order.version)),
      deadLetters: history.deadLetters.map(deadLetterView),
      actions: history.actions.map(actionView),
      workAttempts: history.workAttempts.map(workAttemptView),
      lateEvents: history.lateEvents.map(lateEventView),
    };
  }

  @Post('orders/:orderId/force')
  @HttpCode(200)
  async force(@Operator() operator: Caller, @Param('orderId') orderId: string, @Body() body: unknown) {
    const input = objectOf(body, 'the body', ['toState', 'reason', 'expectedVersion', 'requestId', 'timers']);
    const outcome = await this.ops.force(operator, orderIdOf(orderId), {
      toState: id(input.toState, 'toState'),
      reason: reason(input.reason),
      expectedVersion: optionalVersion(input.expectedVersion, 'expectedVersion'),
      requestId: optionalId(input.requestId, 'requestId'),
      timers: timersOf(input.timers),
    });
    return outcomeView(outcome);
  }

  @Post('orders/:orderId/pause')
  @HttpCode(200)
  async pause(@Operator() operator: Caller, @Param('orderId') orderId: string, @Body() body: unknown) {
    const input = objectOf(body, 'the body', ['reason', 'expectedVersion']);
    const order = await this.ops.pause(operator, orderIdOf(orderId), { reason: reason(input.reason), expectedVersion: optionalVersion(input.expectedVersion, 'expectedVersion') });
    return { order: orderSummaryView(order) };
  }

  @Post('orders/:orderId/resume')
  @HttpCode(200)
  async resume(@Operator() operator: Caller, @Param('orderId') orderId: string, @Body() body: unknown) {
    const input = objectOf(body, 'the body', ['reason', 'expectedVersion']);
    const order = await this.ops.resume(operator, orderIdOf(orderId), { reason: reason(input.reason), expectedVersion: optionalVersion(input.expectedVersion, 'expectedVersion') });
    return { order: orderSummaryView(order) };
  }

  @Post('orders/:orderId/events')
  @HttpCode(200)
  async sendEvent(@Operator() operator: Caller, @Param('orderId') orderId: string, @Body() body: unknown) {
    const input = objectOf(body, 'the body', ['event', 'reason', 'payload', 'requestId', 'expectedState', 'expectedVersion']);
    const outcome = await this.ops.sendEvent(operator, orderIdOf(orderId), {
      event: id(input.event, 'event'),
      reason: reason(input.reason),
      payload: optionalPayload(input.payload),
      requestId: optionalId(input.requestId, 'requestId'),
      expectedState: optionalId(input.expectedState, 'expectedState'),
      expectedVersion: optionalVersion(input.expectedVersion, 'expectedVersion'),
    });
    return outcomeView(outcome);
  }

  @Post('orders/:orderId/migrate')
  @HttpCode(200)
  async migrate(@Operator() operator: Caller, @Param('orderId') orderId: string, @Body() body: unknown) {
    const input = objectOf(body, 'the body', ['reason', 'toVersion', 'dryRun']);
    const outcome = await this.ops.migrate(operator, orderIdOf(orderId), {
      reason: reason(input.reason),
      toVersion: optionalInteger(input.toVersion, 'toVersion', 1, MAX_MACHINE_VERSION),
      dryRun: optionalBoolean(input.dryRun, 'dryRun') ?? false,
    });
    return { orderId: outcome.orderId, dryRun: outcome.dryRun, steps: outcome.steps, order: orderSummaryView(outcome.order) };
  }

  @Get('dead-letters')
  async deadLetters(@Query() query: Record<string, unknown>) {
    objectOf(query, 'the query', ['status', 'orderId', 'event', 'limit', 'cursor']);
    const cursor = decodeCursor(query.cursor, 'cursor', (k) => k.length === 1 && Number.isSafeInteger(k[0]) && (k[0] as number) > 0);
    const page = await this.ops.deadLetters(
      {
        status: oneOf(query.status, 'status', ['dead', 'redriven', 'discarded'] as const, true),
        orderId: optionalId(query.orderId, 'orderId', true),
        event: optionalId(query.event, 'event', true),
      },
      optionalInteger(query.limit, 'limit', 1, PAGE.max, true) ?? PAGE.default,
      cursor?.[0] as number | undefined,
    );
    return { items: page.items.map(deadLetterView), nextCursor: page.next === undefined ? null : encodeCursor([page.next]) };
  }

  @Post('dead-letters/:id/redrive')
  @HttpCode(200)
  async redrive(@Operator() operator: Caller, @Param('id') letterId: string, @Body() body: unknown) {
    const input = objectOf(body, 'the body', ['reason']);
    const result = await this.ops.redrive(operator, deadLetterIdOf(letterId), reason(input.reason));
    return {
      outcome: result.outcome,
      detail: result.detail,
      deadLetter: deadLetterView(result.deadLetter),
      transition: result.transition ? outcomeView(result.transition) : null,
      error: result.error ?? null,
    };
  }

  @Post('dead-letters/:id/discard')
  @HttpCode(200)
  async discard(@Operator() operator: Caller, @Param('id') letterId: string, @Body() body: unknown) {
    const input = objectOf(body, 'the body', ['reason']);
    return { deadLetter: deadLetterView(await this.ops.discard(operator, deadLetterIdOf(letterId), reason(input.reason))) };
  }

  @Get('stuck')
  async stuck(@Query() query: Record<string, unknown>) {
    objectOf(query, 'the query', ['limit', 'unpublishedOlderThanMs']);
    const asOf = new Date();
    const items = await this.ops.stuck(
      optionalInteger(query.limit, 'limit', 1, STUCK.max, true) ?? STUCK.default,
      optionalInteger(query.unpublishedOlderThanMs, 'unpublishedOlderThanMs', 0, 7 * 24 * 3_600_000, true),
      asOf,
    );
    return {
      asOf: asOf.toISOString(),
      items: items.map(({ order, reasons }) => ({
        order: orderSummaryView(order),
        reasons: reasons.map((r) => ({ kind: r.kind, since: r.since.toISOString(), detail: r.detail })),
      })),
    };
  }

  @Get('counts')
  async counts(@Query() query: Record<string, unknown>) {
    objectOf(query, 'the query', ['bizCode', 'sceneId']);
    const counts = await this.ops.counts({ bizCode: optionalId(query.bizCode, 'bizCode', true), sceneId: optionalId(query.sceneId, 'sceneId', true) });
    return { asOf: counts.asOf.toISOString(), finalAsOf: counts.finalAsOf.toISOString(), states: counts.states, dimensions: counts.dimensions };
  }

  @Post('bulk/force')
  @HttpCode(200)
  bulkForce(@Operator() operator: Caller, @Body() body: unknown) {
    return this.bulk('force', operator, body);
  }

  @Post('bulk/pause')
  @HttpCode(200)
  bulkPause(@Operator() operator: Caller, @Body() body: unknown) {
    return this.bulk('pause', operator, body);
  }

  @Post('bulk/resume')
  @HttpCode(200)
  bulkResume(@Operator() operator: Caller, @Body() body: unknown) {
    return this.bulk('resume', operator, body);
  }

  @Post('bulk/migrate')
  @HttpCode(200)
  bulkMigrate(@Operator() operator: Caller, @Body() body: unknown) {
    const max = this.options.maxBulk;
    const input = objectOf(body, 'the body', ['filter', 'reason', 'dryRun', 'limit', 'toVersion']);
    return this.ops.bulkMigrate(operator, {
      filter: orderFilter(input.filter, max),
      reason: reason(input.reason),
      dryRun: optionalBoolean(input.dryRun, 'dryRun') ?? false,
      limit: optionalInteger(input.limit, 'limit', 1, max) ?? Math.min(BULK_DEFAULT, max),
      toVersion: optionalInteger(input.toVersion, 'toVersion', 1, MAX_MACHINE_VERSION),
    });
  }

  @Post('bulk/redrive')
  @HttpCode(200)
  bulkRedrive(@Operator() operator: Caller, @Body() body: unknown) {
    const max = this.options.maxBulk;
    const input = objectOf(body, 'the body', ['filter', 'reason', 'dryRun', 'limit']);
    const filter = objectOf(input.filter, 'filter', ['ids', 'orderIds', 'event']);
    const parsed = { ids: integerList(filter.ids, 'filter.ids', max), orderIds: idList(filter.orderIds, 'filter.orderIds', max), event: optionalId(filter.event, 'filter.event') };
    if (Object.values(parsed).every((v) => v === undefined)) throw new ValidationFailedError('filter must name at least one of ids, orderIds, event', { field: 'filter' });
    return this.ops.bulkRedrive(operator, {
      filter: parsed,
      reason: reason(input.reason),
      dryRun: optionalBoolean(input.dryRun, 'dryRun') ?? false,
      limit: optionalInteger(input.limit, 'limit', 1, max) ?? Math.min(BULK_DEFAULT, max),
    });
  }

  private bulk(action: Exclude<BulkAction, 'redrive' | 'migrate'>, operator: Caller, body: unknown) {
    const max = this.options.maxBulk;
    const common = ['filter', 'reason', 'dryRun', 'limit'];
    const input = objectOf(body, 'the body', action === 'force' ? [...common, 'toState', 'requestId', 'timers'] : common);
    return this.ops.bulk(action, operator, {
      filter: orderFilter(input.filter, max),
      reason: reason(input.reason),
      dryRun: optionalBoolean(input.dryRun, 'dryRun') ?? false,
      limit: optionalInteger(input.limit, 'limit', 1, max) ?? Math.min(BULK_DEFAULT, max),
      ...(action === 'force' && { toState: id(input.toState, 'toState'), requestId: optionalId(input.requestId, 'requestId'), timers: timersOf(input.timers) }),
    });
  }
}
