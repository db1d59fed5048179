import { Inject, Injectable, Logger } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import {
  AmbiguousProcessorError,
  OrderNotFoundError,
  OrderStateNotMatchError,
  ProcessorNotFoundError,
  ValidationFailedError,
} from '../errors/order-fsm.errors.js';
import type { OrderLock } from '../lock/order-lock.js';
import { MAX_ID_LENGTH, ORDER_FSM_OPTIONS, ORDER_LOCK, ORDER_STORE } from '../order-fsm.constants.js';
import type { ResolvedOrderFsmOptions } from '../order-fsm.options.js';
import type { OrderStore, TransitionLogEntry } from '../persistence/order-store.js';
import { ProcessorRegistry } from '../registry/processor-registry.js';
import type { AbstractStateProcessor } from './abstract-state-processor.js';
import { CheckerExecutor } from './checker-executor.js';
import type { FsmOrder } from './fsm-order.js';
import type { OrderStateEvent } from './order-state-event.js';
import { runProcessorTemplate } from './processor-template.js';
import { StateContext } from './state-context.js';
import type { CreateOrderInput, TransitionOutcome } from './transition-outcome.js';

function requireId(field: string, value: unknown): void {
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_ID_LENGTH) {
    throw new ValidationFailedError(`${field} must be a string of 1 to ${MAX_ID_LENGTH} characters`, { field });
  }
}

/**
 * The entry point: sendEvent() locks the order, loads it, picks the one processor that accepts the
 * event, runs its template and commits the transition, fenced by the order's version.
 */
@Injectable()
export class OrderFsmEngine {
  private readonly logger = new Logger(OrderFsmEngine.name);
  private readonly checkers = new CheckerExecutor(this.logger);

  constructor(
    private readonly registry: ProcessorRegistry,
    @Inject(ORDER_STORE) private readonly store: OrderStore,
    @Inject(ORDER_LOCK) private readonly lock: OrderLock,
    @Inject(ORDER_FSM_OPTIONS) private readonly options: ResolvedOrderFsmOptions,
  ) {}

  /** Creates an order: the create event applied to a new order in the initial state. */
  createOrder<T = unknown, P = unknown>(input: CreateOrderInput<P>): Promise<TransitionOutcome<T>> {
    requireId('bizCode', input.bizCode);
    requireId('sceneId', input.sceneId);
    const orderId = input.orderId ?? randomUUID();
    const order: FsmOrder = {
      orderId,
      state: this.options.initialState,
      version: 0,
      bizCode: input.bizCode,
      sceneId: input.sceneId,
      data: {},
    };
    const event: OrderStateEvent<P> = {
      eventType: input.event ?? this.options.createEvent,
      orderId,
      requestId: input.requestId,
      newCreate: true,
      payload: input.payload,
      source: input.source,
    };
    return this.sendEvent<T>(event, order);
  }

  /**
   * Applies an event. Without `fsmOrder` the order is loaded by id under its lock; with one (a new
   * order at version 0, or an order the caller already holds) that order is used as read.
   */
  async sendEvent<T = unknown>(event: OrderStateEvent, fsmOrder?: FsmOrder): Promise<TransitionOutcome<T>> {
    if (!this.registry.isSealed) throw new Error('order-fsm: sendEvent() called before the application finished bootstrap');
    requireId('eventType', event?.eventType);
    requireId('orderId', event.orderId);
    requireId('requestId', event.requestId);
    if (event.orderState !== undefined) requireId('orderState', event.orderState);
    if (fsmOrder && fsmOrder.orderId !== event.orderId) {
      throw new ValidationFailedError(`the event is for order ${event.orderId} but the order given is ${fsmOrder.orderId}`);
    }
    if (event.newCreate && (!fsmOrder || fsmOrder.version !== 0)) {
      throw new ValidationFailedError('a create event needs the new order (version 0): use createOrder()');
    }
    if (fsmOrder?.version === 0) {
      // A new order: nobody else can hold it; its primary key fences a duplicate create.
      return this.apply<T>(event, structuredClone(fsmOrder));
    }
    const handle = await this.lock.acquire(event.orderId);
    try {
      const order = fsmOrder ? structuredClone(fsmOrder) : await this.store.load(event.orderId);
      if (!order) throw new OrderNotFoundError(event.orderId);
      return await this.apply<T>(event, order);
    } finally {
      await handle.release();
    }
  }

  findOrder(orderId: string): Promise<FsmOrder | null> {
    requireId('orderId', orderId);
    return this.store.load(orderId);
  }

  listTransitions(orderId: string): Promise<TransitionLogEntry[]> {
    requireId('orderId', orderId);
    return this.store.listTransitions(orderId);
  }

  private async apply<T>(event: OrderStateEvent, order: FsmOrder): Promise<TransitionOutcome<T>> {
    if (event.orderState !== undefined && event.orderState !== order.state) {
      throw new OrderStateNotMatchError(order.orderId, event.orderState, order.state);
    }
    const ctx = new StateContext(event, order);
    const processor = this.selectProcessor(ctx) as AbstractStateProcessor<T>;
    const plugins = this.registry.resolvePlugins(order.state, event.eventType, order.bizCode, order.sceneId);
    const fromState = order.state;

    const { nextState, result } = await runProcessorTemplate<T>(
      processor,
      ctx,
      plugins,
      this.checkers,
      async (toState, save) => {
        const write = {
          order,
          toState,
          event: event.eventType,
          requestId: event.requestId,
          source: event.source ?? 'api',
          at: new Date(),
        };
        const committed = await this.store.commit(write, async (manager) => {
          ctx.bindManager(manager);
          try {
            await save();
          } finally {
            ctx.bindManager(undefined);
          }
        });
        Object.assign(order, { state: committed.state, version: committed.version, createdAt: committed.createdAt, updatedAt: committed.updatedAt });
      },
      this.logger,
    );
    return { orderId: order.orderId, event: event.eventType, fromState, toState: nextState, version: order.version, result: result.data, order };
  }

  private selectProcessor(ctx: StateContext): AbstractStateProcessor {
    const { order, event } = ctx;
    const candidates = this.registry.resolve(order.state, event.eventType, order.bizCode, order.sceneId);
    let chosen: AbstractStateProcessor | undefined;
    let accepted: AbstractStateProcessor[] | undefined;
    for (const candidate of candidates) {
      if (!candidate.filter(ctx)) continue;
      if (chosen === undefined) chosen = candidate;
      else (accepted ??= [chosen]).push(candidate);
    }
    if (accepted) {
      throw new AmbiguousProcessorError(order.orderId, order.state, event.eventType, accepted.map((p) => p.constructor.name));
    }
    if (!chosen) throw new ProcessorNotFoundError(order.orderId, order.state, event.eventType, order.bizCode, order.sceneId);
    return chosen;
  }
}
