import type { OrderStateEvent } from '../model/event.js';
import { statusOutboxMessage, type TraceCarrier, workOutboxMessage, type OutboxMessage } from '../model/messages.js';
import type { MachineDefinition } from '../model/machine.js';
import type { FsmOrder } from '../model/order.js';
import type { TransitionOutcome } from '../model/outcome.js';
import type { ServiceResult } from '../model/service-result.js';
import type { SaveOutcome, TimerWrite, TransitionWrite } from '../ports/order-store.js';
import type { ScheduledEvent } from '../processor/state-context.js';

/** What the engine stores with a transition, and keeps the result of for its answer. */
export interface TransitionSaveOutcome<T> extends SaveOutcome {
  readonly result: T | undefined;
}

/** Everything the writer needs to know about one decided transition. */
export interface DecidedTransition {
  readonly event: OrderStateEvent;
  /** The order as loaded: the fence. */
  readonly order: FsmOrder;
  readonly toState: string;
  readonly requestHash: string;
  readonly callerKey: string;
  readonly machine: MachineDefinition;
  /** Write status messages and automatic work to the outbox. */
  readonly outbox: boolean;
  /** Who decided it, for the error when it schedules an event the new state does not take. */
  readonly processorName: string;
  /** The processor's class, kept on the log row; none for a forced move or a migration. */
  readonly processor?: string;
  /** The trace the transition happened in, when tracing is on: stored with its outbox rows. */
  readonly traceContext?: TraceCarrier;
}

/**
 * Turns a processor's decision into the one write the store commits: the fenced order row, the log
 * row with the response a replay gets, the status message, the automatic work of the new state and
 * the timers, computed here and nowhere else. `at` is the transition's time, for all of its rows.
 */
export class TransitionWriter {
  constructor(
    private readonly decided: DecidedTransition,
    readonly at = new Date(),
  ) {}

  /** The order as the transition leaves it. */
  get next(): FsmOrder {
    const { order, toState, machine } = this.decided;
    return {
      ...order,
      state: toState,
      version: order.version + 1,
      createdAt: order.version === 0 ? this.at : order.createdAt,
      updatedAt: this.at,
      machineVersion: machine.version,
    };
  }

  /**
   * The write. Without a save() of the processor's own, its outcome is known now; with one, `save`
   * runs it in the transaction and `outcomeOf` turns what it answered into the stored outcome.
   */
  write<T>(
    scheduled: () => readonly ScheduledEvent[],
    result: ServiceResult<T>,
    save?: (manager: unknown) => Promise<ServiceResult<T>>,
  ): TransitionWrite<TransitionSaveOutcome<T>> {
    const { event, order, toState, machine } = this.decided;
    const source = event.source ?? 'api';
    const auto = machine.automaticWork(toState, order.bizCode, order.sceneId);
    const operator = event.operator;
    return {
      order,
      toState,
      event: event.eventType,
      requestId: event.requestId,
      requestHash: this.decided.requestHash,
      caller: this.decided.callerKey,
      source,
      // An operator's act: who and why on the log row, and its audit row in the same transaction.
      ...(operator && {
        actor: operator.name,
        reason: operator.reason,
        audit: {
          orderId: order.orderId,
          kind: operator.act,
          actor: operator.name,
          reason: operator.reason,
          at: this.at,
          detail: { event: event.eventType, fromState: order.state, toState, version: order.version + 1, requestId: event.requestId, ...operator.detail },
        },
      }),
      at: this.at,
      machineVersion: machine.version,
      payload: event.payload === undefined ? null : JSON.stringify(event.payload),
      ...(this.decided.processor && { processor: this.decided.processor }),
      messages: this.messages(auto?.event),
      autoDueAt: auto ? new Date(this.at.getTime() + auto.stuckAfterMs) : null,
      firesTimer: event.firesTimer,
      ...(save
        ? { save: async (manager: unknown) => this.outcomeOf(await save(manager), scheduled()) }
        : { outcome: this.outcomeOf(result, scheduled()) }),
    };
  }

  /** The answer to the event, as the caller gets it now and a replay gets it later. */
  answer<T>(result: T | undefined): TransitionOutcome<T> {
    const { event, order, toState } = this.decided;
    return { orderId: order.orderId, event: event.eventType, fromState: order.state, toState, version: order.version + 1, result, order: this.next };
  }

  private outcomeOf<T>(result: ServiceResult<T>, scheduled: readonly ScheduledEvent[]): TransitionSaveOutcome<T> {
    const answer = this.answer(result.data);
    return { response: JSON.stringify({ ...answer, result: answer.result ?? null }), timers: this.timersOf(scheduled), result: result.data };
  }

  private messages(automaticEvent: string | undefined): OutboxMessage[] {
    if (!this.decided.outbox) return [];
    const { event, order, callerKey, traceContext } = this.decided;
    const next = this.next;
    const messages: OutboxMessage[] = [
      statusOutboxMessage(next, {
        event: event.eventType,
        fromState: order.state,
        requestId: event.requestId,
        caller: callerKey,
        source: event.source ?? 'api',
        at: this.at,
        ...(event.operator && { actor: event.operator.name, reason: event.operator.reason }),
      }),
    ];
    if (automaticEvent) messages.push(workOutboxMessage(next, automaticEvent, 'transition'));
    return traceContext ? messages.map((message) => ({ ...message, traceContext })) : messages;
  }

  private timersOf(scheduled: readonly ScheduledEvent[]): TimerWrite[] {
    const { machine, toState, processorName } = this.decided;
    return scheduled.map(({ event, fireAt }) => {
      if (!machine.hasEvent(toState, event)) {
        throw new Error(`${processorName} scheduled ${event}, but the machine declares no transition ${toState} -${event}->`);
      }
      return { event, fireAt };
    });
  }
}
