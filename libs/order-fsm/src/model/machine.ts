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

/** What the machine says of an event wherever it is declared. */
export interface EventSpec {
  /**
   * Who may send it: `system` (the engine's worker, timers and sweeper) and the roles of the
   * service's callers (`client`, `payment`, `operator`, ...). Anyone else is refused (FORBIDDEN).
   */
  readonly sentBy: string | readonly string[];
  readonly description?: string;
}

export interface MachineSpec<I extends string, S extends string, E extends string> {
  readonly name: string;
  /** The virtual state new orders start from. */
  readonly initial: I;
  readonly states: { readonly [K in S]: StateSpec<NoInfer<E>> };
  /** States are named by `initial` and `states`; a transition naming any other fails to compile. */
  readonly transitions: readonly TransitionSpec<NoInfer<I | S>, E>[];
  /**
   * Per event, who may send it. Declared for one event, it must be declared for every event (an
   * event nobody may send is an error); left out altogether, any sender may send any event.
   */
  readonly events?: { readonly [K in NoInfer<E>]?: EventSpec };
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
const NO_SENDERS: ReadonlySet<string> = new Set();
const toList = <T extends string>(value: T | readonly T[]): readonly T[] => (typeof value === 'string' ? [value] : value);
const toSet = (value: string | readonly string[] | undefined) => (value === undefined ? undefined : new Set(toList(value)));

/**
 * A machine's states and the transitions between them, declared once. The engine applies nothing
 * that is not declared here; the type parameters let processors name only declared states.
 */
export class MachineDefinition<S extends string = string, E extends string = string> {
  readonly name: string;
  readonly initial: string;
  readonly transitions: readonly DeclaredTransition[];
  /** The events declared anywhere. */
  readonly events: ReadonlySet<string>;
  private readonly states = new Map<string, StateSpec>();
  private readonly edges = new Set<string>();
  private readonly eventsByState = new Map<string, Set<string>>();
  private readonly automatic = new Map<string, ResolvedAutomatic>();
  private readonly senders = new Map<string, ReadonlySet<string>>();

  /** @internal use defineMachine() */
  constructor(spec: MachineSpec<string, string, string>) {
    const problems: string[] = [];
    this.name = spec.name;
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
      const sentBy = eventSpec?.sentBy === undefined ? [] : toList(eventSpec.sentBy);
      if (sentBy.some((sender) => typeof sender !== 'string' || sender.length === 0)) problems.push(`event ${event}: every sender must be a non-empty name`);
      this.senders.set(event, new Set(sentBy));
    }
    if (problems.length > 0) throw new Error(`machine ${spec.name}:\n  - ${problems.join('\n  - ')}`);
    this.transitions = Object.freeze(transitions);
    this.events = declaredEvents;
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
