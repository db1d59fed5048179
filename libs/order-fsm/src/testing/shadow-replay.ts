import { OrderFsmError } from '../errors/order-fsm.errors.js';
import { type Caller, FORCE_EVENT, MIGRATE_EVENT, OPERATOR_SOURCE, SYSTEM_SENDER, SYSTEM_SOURCES } from '../model/event.js';
import type { MachineDefinition } from '../model/machine.js';
import type { TransitionLogEntry } from '../ports/order-store.js';
import { OrderFsmTestbed, type OrderFsmTestbedOptions } from './order-fsm-testbed.js';

/** One real order to replay: its dimensions and its whole transition log, oldest first. */
export interface ReplayedOrder {
  readonly orderId: string;
  readonly bizCode: string;
  readonly sceneId: string;
  readonly transitions: readonly TransitionLogEntry[];
}

/**
 * The machine to try: the testbed of its processors, checkers and plugins, and what each order's
 * testbed needs before its first event that the log does not carry.
 */
export interface ShadowReplayCandidate extends OrderFsmTestbedOptions {
  /**
   * Called in each order's own testbed before its first event: seed what the candidate's checkers
   * and processors read that is not the order's (the reference data they look up, say). The log is
   * the order's; the rest of the world is the candidate's to make up.
   */
  prepare?: (order: ReplayedOrder, testbed: OrderFsmTestbed) => Promise<void> | void;
}

export interface ShadowReplayOptions {
  /** The orders to replay, each with its whole log. */
  readonly orders: Iterable<ReplayedOrder> | AsyncIterable<ReplayedOrder>;
  readonly candidate: ShadowReplayCandidate;
  /** The caller name of events whose log row names none. Default `shadow-replay`. */
  readonly callerName?: string;
}

/**
 * How the candidate decided otherwise: `processor` (another processor, the same next state),
 * `next-state` (another next state), `checker` (a checker failed: CHECK_FAILED), `refused` (any other
 * refusal: no processor, a state that does not match, a transition the machine does not declare...).
 */
export type ReplayDifferenceKind = 'processor' | 'next-state' | 'refused' | 'checker';

export interface ReplayDifference {
  readonly kind: ReplayDifferenceKind;
  readonly orderId: string;
  readonly bizCode: string;
  readonly sceneId: string;
  /** The logged transition's version: the candidate decided otherwise on this event. */
  readonly version: number;
  readonly event: string;
  readonly source: string;
  readonly fromState: string;
  readonly logged: { readonly toState: string; readonly processor: string | null };
  readonly candidate:
    | { readonly toState: string; readonly processor: string | null }
    | { readonly refused: { readonly code: string; readonly message: string; readonly details?: Readonly<Record<string, unknown>> } };
}

/** An order the replay skipped: its log does not tell its whole story. */
export interface IncompleteOrder {
  readonly orderId: string;
  readonly reason: string;
}

export interface ReplayReport {
  /** Orders replayed (up to their first difference). */
  readonly orders: number;
  /** Logged transitions sent again (forced moves and migrations included). */
  readonly events: number;
  /** At most one per order: an order's state has diverged after its first. */
  readonly differences: readonly ReplayDifference[];
  readonly incomplete: readonly IncompleteOrder[];
}

/** The name the forced moves a replay makes are recorded under, in the testbed only. */
const REPLAY_OPERATOR: Caller = { name: 'shadow-replay', role: 'operator' };

/**
 * Shadow replay: real orders' logged events sent again, in version order, to a candidate machine in
 * a testbed of its own for each order (an in-memory SQLite database: nothing is written anywhere
 * else), comparing each decision with the logged one. An order is replayed up to its first
 * difference, after which its state has diverged. Operators' forced moves and migrations are no
 * decisions: the testbed's order is brought to the state they logged and the replay goes on. A row
 * written before the log named processors is compared by its next state alone.
 */
export async function shadowReplay(options: ShadowReplayOptions): Promise<ReplayReport> {
  const { prepare, ...testbedOptions } = options.candidate;
  const callerName = options.callerName ?? REPLAY_OPERATOR.name;
  const report = { orders: 0, events: 0, differences: [] as ReplayDifference[], incomplete: [] as IncompleteOrder[] };
  for await (const order of options.orders) {
    const gap = incompleteness(order.transitions);
    if (gap) {
      report.incomplete.push({ orderId: order.orderId, reason: gap });
      continue;
    }
    // Automatic work is the log's to send (its worker rows): a worker of the testbed's own would race it.
    const testbed = await OrderFsmTestbed.create({ logger: false, ...testbedOptions, automatic: false });
    try {
      await prepare?.(order, testbed);
      report.orders++;
      for (const logged of order.transitions) {
        report.events++;
        const difference = await replayOne(testbed, testbedOptions.machine, order, logged, callerName);
        if (difference) {
          report.differences.push(difference);
          break;
        }
      }
    } finally {
      await testbed.close();
    }
  }
  return report;
}

/** Why a log cannot be replayed from its start, or undefined when it can. */
function incompleteness(transitions: readonly TransitionLogEntry[]): string | undefined {
  if (transitions.length === 0) return 'no transitions';
  for (const [index, t] of transitions.entries()) {
    if (t.version !== index + 1) return index === 0 ? `the log starts at version ${t.version}` : `version ${index + 1} is missing`;
  }
  return undefined;
}

async function replayOne(testbed: OrderFsmTestbed, machine: MachineDefinition, order: ReplayedOrder, logged: TransitionLogEntry, callerName: string): Promise<ReplayDifference | undefined> {
  const base = {
    orderId: order.orderId,
    bizCode: order.bizCode,
    sceneId: order.sceneId,
    version: logged.version,
    event: logged.event,
    source: logged.source,
    fromState: logged.fromState,
    logged: { toState: logged.toState, processor: logged.processor },
  };
  try {
    if (logged.event === FORCE_EVENT || logged.event === MIGRATE_EVENT) {
      await testbed.engine.force({
        orderId: order.orderId,
        toState: logged.toState,
        reason: `shadow replay of ${logged.event} (v${logged.version})`,
        operator: REPLAY_OPERATOR,
        requestId: `replay:${logged.version}`,
      });
      return undefined;
    }
    const caller = callerOf(machine, logged, callerName);
    const operator = logged.source === OPERATOR_SOURCE ? { name: caller.name, reason: logged.reason ?? 'shadow replay', act: 'event' } : undefined;
    if (logged.version === 1) {
      await testbed.engine.createOrder({
        orderId: order.orderId,
        bizCode: order.bizCode,
        sceneId: order.sceneId,
        event: logged.event,
        payload: logged.payload,
        requestId: logged.requestId,
        source: logged.source,
        caller,
      });
    } else {
      await testbed.engine.sendEvent({
        eventType: logged.event,
        orderId: order.orderId,
        payload: logged.payload,
        requestId: logged.requestId,
        source: logged.source,
        caller,
        operator,
      });
    }
  } catch (error) {
    const code = error instanceof OrderFsmError ? error.code : 'INTERNAL_ERROR';
    const message = error instanceof Error ? error.message : String(error);
    const details = error instanceof OrderFsmError ? error.details : undefined;
    return { ...base, kind: code === 'CHECK_FAILED' ? 'checker' : 'refused', candidate: { refused: { code, message, ...(details && { details }) } } };
  }
  // The testbed's own log says which processor decided, and where to.
  const decided = (await testbed.transitions(order.orderId)).find((t) => t.version === logged.version);
  if (!decided) {
    return { ...base, kind: 'refused', candidate: { refused: { code: 'INTERNAL_ERROR', message: `the testbed logged no version ${logged.version}` } } };
  }
  const candidate = { toState: decided.toState, processor: decided.processor };
  if (decided.toState !== logged.toState) return { ...base, kind: 'next-state', candidate };
  // A row written before the log named processors is compared by its next state alone.
  if (logged.processor !== null && decided.processor !== logged.processor) return { ...base, kind: 'processor', candidate };
  return undefined;
}

/**
 * Who sends the event again: the engine's own sources as the system (their caller is theirs); anyone
 * else under the logged caller's name, with the first role other than `system` that the candidate's
 * `sentBy` names for the event (the log keeps names, not roles).
 */
function callerOf(machine: MachineDefinition, logged: TransitionLogEntry, callerName: string): Caller {
  const name = logged.caller && !logged.caller.startsWith('@') ? logged.caller : callerName;
  if (logged.source === OPERATOR_SOURCE) return { name, role: 'operator' };
  const senders = [...(machine.sendersOf(logged.event) ?? [])];
  const role = SYSTEM_SOURCES.has(logged.source) ? SYSTEM_SENDER : (senders.find((sender) => sender !== SYSTEM_SENDER) ?? senders[0] ?? 'replay');
  return { name, role };
}
