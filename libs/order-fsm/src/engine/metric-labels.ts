import { ERRORS } from '../errors/error-codes.js';
import { OrderFsmError } from '../errors/order-fsm.errors.js';
import { FORCE_EVENT, KNOWN_SOURCES, MIGRATE_EVENT } from '../model/event.js';
import type { FsmOrder } from '../model/order.js';
import type { ResolvedOrderFsmOptions } from '../order-fsm.options.js';
import type { RefusalLabels, TransitionLabels } from '../ports/metrics.js';

/** An event the machines do not declare. */
export const UNDECLARED = 'undeclared';
/** A bizCode, sceneId, source, reason or code outside the known ones. */
export const OTHER = 'other';
/** The reason of a refusal that has none (any code but CHECK_FAILED). */
export const NO_REASON = 'none';

/**
 * The engine's metric labels, each bounded by what the service declares: the states and events of
 * every machine served, the bizCodes and sceneIds the processors name or the module lists, the
 * reasons the module lists, order-fsm's error codes and its sources. Anything else, whatever a
 * caller sends, shares one value (`undeclared` for events and states, `other` for the rest).
 */
export class MetricLabels {
  private readonly events: ReadonlySet<string>;
  private readonly states: ReadonlySet<string>;
  private readonly bizCodes: ReadonlySet<string>;
  private readonly sceneIds: ReadonlySet<string>;
  private readonly reasons: ReadonlySet<string>;

  constructor(options: ResolvedOrderFsmOptions, named: { bizCodes: ReadonlySet<string>; sceneIds: ReadonlySet<string> }) {
    const machines = [...options.machines.values()];
    this.events = new Set([...machines.flatMap((m) => [...m.events]), FORCE_EVENT, MIGRATE_EVENT]);
    this.states = new Set(machines.flatMap((m) => m.stateNames));
    this.bizCodes = new Set([...named.bizCodes, ...options.dimensions.bizCodes]);
    this.sceneIds = new Set([...named.sceneIds, ...options.dimensions.sceneIds]);
    // A processor's step that throws an order-fsm error fails with its code; one that fails without a code, UNSPECIFIED.
    this.reasons = new Set([...Object.keys(ERRORS), 'UNSPECIFIED', ...options.refusalReasons]);
  }

  event(eventType: unknown): string {
    return typeof eventType === 'string' && this.events.has(eventType) ? eventType : UNDECLARED;
  }

  source(source: string | undefined): string {
    const name = source ?? 'api';
    return KNOWN_SOURCES.has(name) ? name : OTHER;
  }

  transition(order: FsmOrder, toState: string, eventType: string, source: string | undefined): TransitionLabels {
    return {
      fromState: this.state(order.state),
      toState: this.state(toState),
      event: this.event(eventType),
      bizCode: this.bizCodes.has(order.bizCode) ? order.bizCode : OTHER,
      sceneId: this.sceneIds.has(order.sceneId) ? order.sceneId : OTHER,
      source: this.source(source),
    };
  }

  /** A refusal: the error's code, and for CHECK_FAILED the checker's or processor's reason. */
  refusal(error: OrderFsmError, eventType: unknown, source: string | undefined): RefusalLabels {
    const code = error.code in ERRORS ? error.code : OTHER;
    let reason = NO_REASON;
    if (code === 'CHECK_FAILED') {
      const given = error.details?.reason;
      reason = typeof given === 'string' && this.reasons.has(given) ? given : OTHER;
    }
    return { event: this.event(eventType), code, reason, source: this.source(source) };
  }

  private state(name: string): string {
    return this.states.has(name) ? name : UNDECLARED;
  }
}
