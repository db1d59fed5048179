/** Work the engine queues when an order enters a state: the worker sends `event` to move it on. */
export interface AutomaticSpec<E extends string = string> {
  readonly event: E;
  /** Only orders of these bizCodes (default: any). */
  readonly bizCode?: string | readonly string[];
  /** Only orders of these sceneIds (default: any). */
  readonly sceneId?: string | readonly string[];
  /** After this long in the state the sweeper queues the work again. Default 60 s. */
  readonly stuckAfterMs?: number;
}

export interface StateSpec<E extends string = string> {
  readonly final?: boolean;
  readonly automatic?: AutomaticSpec<E>;
  readonly description?: string;
}

export interface TransitionSpec<S extends string = string, E extends string = string> {
  readonly from: S | readonly S[];
  readonly event: E;
  readonly to: S | readonly S[];
  /** Sent by a timer a processor scheduled (ctx.schedule()), not by a client: drawn dashed. */
  readonly timer?: boolean;
}

/**
 * What happens to an event that arrives in a state with no transition for it (a payment callback
 * after a cancellation, a driver's second ARRIVE):
 * - `refuse`: answered 409 (ORDER_STATE_NOT_MATCH), nothing written; the default;
 * - `ignore`: answered 200 with `ignored: true` and recorded, nothing else happens;
 * - `compensate`: the event's compensation (`@LateEventCompensation`) runs once and its result is
 *   recorded and sent as a message (a refund for a late payment);
 * - `{ hold: { forMs } }`: kept, durably, until the order reaches a state that takes it, which then
 *   applies it as sent; or until `forMs` has passed, or the order can no longer reach such a state,
 *   when it expires. Answered 202. With `onExpiry: 'compensate'` an event that expires is compensated
 *   instead (the compensation of the event in the state it was held in runs once, against the order
 *   as it is then, and its result leaves in a `compensated` message): money taken for a payment the
 *   order never took is given back.
 */
export type LatePolicy = 'refuse' | 'ignore' | 'compensate' | { readonly hold: { readonly forMs: number; readonly onExpiry?: 'compensate' } };

/** A late policy as the engine applies it. */
export type ResolvedLatePolicy =
  | { readonly kind: 'refuse' }
  | { readonly kind: 'ignore' }
  | { readonly kind: 'compensate' }
  | { readonly kind: 'hold'; readonly forMs: number; readonly onExpiry?: 'compensate' };

/** What the machine says of an event wherever it is declared. */
export interface EventSpec<S extends string = string> {
  /**
   * Who may send it: `system` (the engine's worker, timers and sweeper) and the roles of the
   * service's callers (`client`, `payment`, `operator`, ...). Anyone else is refused (FORBIDDEN).
   */
  readonly sentBy?: string | readonly string[];
  readonly description?: string;
  /**
   * What happens when the event arrives late, in a state with no transition for it: one policy for
   * every such state, or one per state with `'*'` for the rest. Default `refuse`.
   */
  readonly late?: LatePolicy | { readonly [K in S | '*']?: LatePolicy };
}

export interface MachineSpec<I extends string, S extends string, E extends string> {
  readonly name: string;
  /**
   * The machine's version, a whole number from 1 (the default). Each order follows the version it
   * was created under until a declared migration moves it on (defineMigration).
   */
  readonly version?: number;
  /** The virtual state new orders start from. */
  readonly initial: I;
  readonly states: { readonly [K in S]: StateSpec<NoInfer<E>> };
  /** States are named by `initial` and `states`; a transition naming any other fails to compile. */
  readonly transitions: readonly TransitionSpec<NoInfer<I | S>, E>[];
  /**
   * Per event, who may send it and what happens when it arrives late. A `sentBy` declared for one
   * event must be declared for every event (an event nobody may send is an error); left out
   * altogether, any sender may send any event.
   */
  readonly events?: { readonly [K in NoInfer<E>]?: EventSpec<NoInfer<S>> };
}

export interface DeclaredTransition {
  readonly from: string;
  readonly event: string;
  readonly to: string;
  readonly timer: boolean;
}

export interface ResolvedAutomatic {
  readonly event: string;
  readonly bizCodes?: ReadonlySet<string>;
  readonly sceneIds?: ReadonlySet<string>;
  readonly stuckAfterMs: number;
}

const DEFAULT_STUCK_AFTER_MS = 60_000;
const REFUSE: ResolvedLatePolicy = Object.freeze({ kind: 'refuse' });
const LATE_KINDS = new Set(['refuse', 'ignore', 'compensate']);
const NO_SENDERS: ReadonlySet<string> = new Set();
const toList = <T extends string>(value: T | readonly T[]): readonly T[] => (typeof value === 'string' ? [value] : value);
const toSet = (value: string | readonly string[] | undefined) => (value === undefined ? undefined : new Set(toList(value)));

/**
 * A machine's states and the transitions between them, declared once. The engine applies nothing
 * that is not declared here; the type parameters let processors name only declared states.
 */
export class MachineDefinition<S extends string = string, E extends string = string> {
  readonly name: string;
  /** The version: orders remember the one they were created under. */
  readonly version: number;
  readonly initial: string;
  readonly transitions: readonly DeclaredTransition[];
  /** The events declared anywhere. */
  readonly events: ReadonlySet<string>;
  private readonly states = new Map<string, StateSpec>();
  private readonly edges = new Set<string>();
  private readonly eventsByState = new Map<string, Set<string>>();
  private readonly automatic = new Map<string, ResolvedAutomatic>();
  private readonly senders = new Map<string, ReadonlySet<string>>();
  /** event -> state (or `*`) -> policy. */
  private readonly late = new Map<string, Map<string, ResolvedLatePolicy>>();
  private readonly stillTakes = new Map<string, boolean>();
  private readonly next = new Map<string, Set<string>>();

  /** @internal use defineMachine() */
  constructor(spec: MachineSpec<string, string, string>) {
    const problems: string[] = [];
    this.name = spec.name;
    this.version = spec.version ?? 1;
    if (!Number.isInteger(this.version) || this.version < 1) problems.push(`version must be a whole number from 1, not ${String(spec.version)}`);
    this.initial = spec.initial;
    for (const [state, stateSpec] of Object.entries(spec.states ?? {})) this.states.set(state, stateSpec ?? {});
    if (!spec.initial) problems.push('the machine needs an initial state');
    if (this.states.has(spec.initial)) problems.push(`the initial state ${spec.initial} is virtual: do not list it in states`);
    const declared = (state: string) => state === spec.initial || this.states.has(state);

    const transitions: DeclaredTransition[] = [];
    for (const t of spec.transitions ?? []) {
      for (const from of toList(t.from)) {
        for (const to of toList(t.to)) {
          if (!declared(from)) problems.push(`transition ${from} -${t.event}-> ${to}: state ${from} is not declared`);
          if (!declared(to) || to === spec.initial) problems.push(`transition ${from} -${t.event}-> ${to}: ${to} is not a declared state`);
          if (this.states.get(from)?.final) problems.push(`transition ${from} -${t.event}-> ${to}: ${from} is final`);
          if (!t.event) problems.push(`transition ${from} -> ${to} has no event`);
          transitions.push({ from, event: t.event, to, timer: t.timer === true });
          this.edges.add(edgeKey(from, t.event, to));
          let targets = this.next.get(from);
          if (!targets) this.next.set(from, (targets = new Set()));
          targets.add(to);
          let events = this.eventsByState.get(from);
          if (!events) this.eventsByState.set(from, (events = new Set()));
          events.add(t.event);
        }
      }
    }
    for (const [state, stateSpec] of this.states) {
      const auto = stateSpec.automatic;
      if (!auto) continue;
      if (stateSpec.final) problems.push(`state ${state} is final and automatic`);
      if (!this.eventsByState.get(state)?.has(auto.event)) {
        problems.push(`state ${state} is automatic with event ${auto.event}, but no transition leaves ${state} on ${auto.event}`);
      }
      this.automatic.set(state, {
        event: auto.event,
        bizCodes: toSet(auto.bizCode),
        sceneIds: toSet(auto.sceneId),
        stuckAfterMs: auto.stuckAfterMs ?? DEFAULT_STUCK_AFTER_MS,
      });
    }
    const declaredEvents = new Set(transitions.map((t) => t.event));
    for (const [event, eventSpec] of Object.entries<EventSpec | undefined>(spec.events ?? {})) {
      if (!declaredEvents.has(event)) problems.push(`event ${event} has a sentBy, but no transition declares it`);
      if (eventSpec?.sentBy !== undefined) {
        const sentBy = toList(eventSpec.sentBy);
        if (sentBy.some((sender) => typeof sender !== 'string' || sender.length === 0)) problems.push(`event ${event}: every sender must be a non-empty name`);
        this.senders.set(event, new Set(sentBy));
      }
      if (eventSpec?.late !== undefined) this.resolveLate(event, eventSpec.late, problems);
    }
    // Declared for one event, senders are declared for all: the others have none.
    if (this.senders.size > 0) for (const event of declaredEvents) if (!this.senders.has(event)) this.senders.set(event, NO_SENDERS);
    if (problems.length > 0) throw new Error(`machine ${spec.name}:\n  - ${problems.join('\n  - ')}`);
    this.transitions = Object.freeze(transitions);
    this.events = declaredEvents;
  }

  private resolveLate(event: string, late: NonNullable<EventSpec['late']>, problems: string[]): void {
    const byState = new Map<string, ResolvedLatePolicy>();
    const entries: Array<[string, unknown]> = typeof late === 'string' || isHold(late) ? [['*', late]] : Object.entries(late);
    for (const [state, policy] of entries) {
      const where = state === '*' ? `event ${event} (late anywhere)` : `event ${event} late in ${state}`;
      const resolved = resolveLatePolicy(policy);
      if (typeof resolved === 'string') {
        problems.push(`${where}: ${resolved}`);
        continue;
      }
      if (state !== '*') {
        if (!this.states.has(state)) problems.push(`${where}: ${state} is not a declared state`);
        else if (this.eventsByState.get(state)?.has(event)) problems.push(`${where}: ${state} has a transition on ${event}, so ${event} is never late there`);
        else if (resolved.kind === 'hold' && !this.canStillTake(state, event)) {
          problems.push(`${where}: an order in ${state} never reaches a state that takes ${event}, so holding it can only expire`);
        }
      }
      byState.set(state, resolved);
    }
    this.late.set(event, byState);
  }

  /**
   * What happens to `event` arriving in `state`, which has no transition for it. A hold where the
   * order can no longer reach a state that takes the event is a refusal: it could only expire.
   */
  latePolicy(event: string, state: string): ResolvedLatePolicy {
    const byState = this.late.get(event);
    if (!byState) return REFUSE;
    const policy = byState.get(state) ?? byState.get('*') ?? REFUSE;
    if (policy.kind === 'hold' && (this.isFinal(state) || !this.canStillTake(state, event))) return REFUSE;
    return policy;
  }

  /** Whether `event`, held in `state`, is compensated when it expires (`hold: { onExpiry: 'compensate' }`). */
  compensatesOnExpiry(event: string, state: string): boolean {
    const policy = this.latePolicy(event, state);
    return policy.kind === 'hold' && policy.onExpiry === 'compensate';
  }

  /** The events that declare a late policy, each with its policies by state (`*` for the rest). */
  get latePolicies(): ReadonlyMap<string, ReadonlyMap<string, ResolvedLatePolicy>> {
    return this.late;
  }

  /** True when some state that takes `event` can still be reached from `state` (the state itself included). */
  canStillTake(state: string, event: string): boolean {
    const key = `${state}\u0000${event}`;
    let answer = this.stillTakes.get(key);
    if (answer === undefined) {
      answer = false;
      const seen = new Set([state]);
      for (const queue = [state]; queue.length > 0 && !answer; ) {
        const current = queue.pop()!;
        if (this.eventsByState.get(current)?.has(event)) answer = true;
        for (const to of this.next.get(current) ?? []) if (!seen.has(to) && seen.add(to)) queue.push(to);
      }
      this.stillTakes.set(key, answer);
    }
    return answer;
  }

  /** Every declared state, the initial one first. */
  get stateNames(): readonly string[] {
    return [this.initial, ...this.states.keys()];
  }

  hasState(state: string): boolean {
    return state === this.initial || this.states.has(state);
  }

  isFinal(state: string): boolean {
    return this.states.get(state)?.final === true;
  }

  /** True when `from -event-> to` is declared. */
  allows(from: string, event: string, to: string): boolean {
    return this.edges.has(edgeKey(from, event, to));
  }

  /** True when some transition leaves `from` on `event`. */
  hasEvent(from: string, event: string): boolean {
    return this.eventsByState.get(from)?.has(event) === true;
  }

  /** True when the machine says who sends its events: every event then needs a sender it names. */
  get declaresSenders(): boolean {
    return this.senders.size > 0;
  }

  /**
   * Who may send `event` (`system` and role names), or undefined when the machine declares no
   * senders at all (anyone may), or does not declare the event (nobody can apply it anyway). A
   * declared event left out of a declaration of senders has none.
   */
  sendersOf(event: string): ReadonlySet<string> | undefined {
    if (this.senders.size === 0 || !this.events.has(event)) return undefined;
    return this.senders.get(event) ?? NO_SENDERS;
  }

  /** The automatic work of `state` for an order of these dimensions, if any. */
  automaticWork(state: string, bizCode: string, sceneId: string): ResolvedAutomatic | undefined {
    const auto = this.automatic.get(state);
    if (!auto) return undefined;
    if (auto.bizCodes && !auto.bizCodes.has(bizCode)) return undefined;
    if (auto.sceneIds && !auto.sceneIds.has(sceneId)) return undefined;
    return auto;
  }

  /** The state's spec (final, automatic, description); undefined for the initial state. */
  stateSpec(state: string): StateSpec | undefined {
    return this.states.get(state);
  }

  /** Phantom members that carry the declared names for StateOf / EventOf. */
  declare readonly __states: S;
  declare readonly __events: E;
}

const edgeKey = (from: string, event: string, to: string) => `${from}\u0000${event}\u0000${to}`;

const isHold = (value: unknown): value is { hold: { forMs: number; onExpiry?: unknown } } => typeof value === 'object' && value !== null && 'hold' in value;

/** A policy as the engine applies it, or what is wrong with it. */
function resolveLatePolicy(policy: unknown): ResolvedLatePolicy | string {
  if (typeof policy === 'string') {
    return LATE_KINDS.has(policy) ? (Object.freeze({ kind: policy }) as ResolvedLatePolicy) : `${policy} is not a late policy (refuse, ignore, compensate or { hold: { forMs, onExpiry? } })`;
  }
  if (isHold(policy)) {
    const forMs = policy.hold?.forMs;
    if (!Number.isInteger(forMs) || forMs <= 0) return 'a hold needs forMs, a whole number of milliseconds above 0';
    const onExpiry = policy.hold.onExpiry;
    if (onExpiry !== undefined && onExpiry !== 'compensate') return `a hold's onExpiry is 'compensate' or absent, not ${JSON.stringify(onExpiry)}`;
    const extra = Object.keys(policy.hold).filter((key) => key !== 'forMs' && key !== 'onExpiry');
    if (extra.length > 0) return `a hold takes forMs and onExpiry, not ${extra.join(', ')}`;
    return Object.freeze(onExpiry ? { kind: 'hold', forMs, onExpiry } : { kind: 'hold', forMs });
  }
  return `${JSON.stringify(policy)} is not a late policy (refuse, ignore, compensate or { hold: { forMs, onExpiry? } })`;
}

/** The states of a machine, as a type: `StateOf<typeof taxiMachine>`. */
export type StateOf<M> = M extends MachineDefinition<infer S, string> ? S : never;
/** The events of a machine, as a type. */
export type EventOf<M> = M extends MachineDefinition<string, infer E> ? E : never;

/** Declares a machine, checking it at once: unknown states, transitions out of final states, automatic states with no way out. */
export function defineMachine<const I extends string, const S extends string, const E extends string>(
  spec: MachineSpec<I, S, E>,
): MachineDefinition<I | S, E> {
  return new MachineDefinition<I | S, E>(spec as MachineSpec<string, string, string>);
}
