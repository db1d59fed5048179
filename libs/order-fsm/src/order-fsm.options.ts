import { DEFAULT_CREATE_EVENT } from './order-fsm.constants.js';
import { messages } from './order-fsm.messages.js';
import type { OrderLock } from './ports/order-lock.js';
import { NoopOrderLock } from './ports/noop-order-lock.js';
import { MachineDefinition } from './model/machine.js';
import { MachineMigration } from './model/migration.js';
import type { MessagePublisher, WorkConsumer } from './ports/message-broker.js';
import type { OrderStore } from './ports/order-store.js';
import { NO_METRICS, type OrderFsmMetrics } from './ports/metrics.js';
import type { OrderFsmTracing } from './ports/tracing.js';

export interface RelayOptions {
  /** Default: on when a publisher is configured. */
  enabled?: boolean;
  /** Messages claimed per round. Default 100. */
  batchSize?: number;
  /** Pause between rounds when there is nothing to do (a commit in this process wakes it at once). Default 250 ms. */
  pollIntervalMs?: number;
  /** How long published messages are kept before they are purged. Default 1 h. */
  retentionMs?: number;
  /** How often published messages past their retention are purged. Default 60 s. */
  purgeIntervalMs?: number;
}

export interface PollerOptions {
  enabled?: boolean;
  intervalMs?: number;
  batchSize?: number;
}

export interface OrderFsmModuleOptions {
  /**
   * The declared states and transitions (defineMachine): nothing else is ever applied. New orders
   * are created under its version.
   */
  machine: MachineDefinition;
  /**
   * Earlier versions of the machine still served: their orders keep their own rules (and the
   * processors that say they serve that version) until they are migrated.
   */
  previousMachines?: readonly MachineDefinition[];
  /** How orders move from one version to the next (defineMigration), lazily or by an operator. */
  migrations?: readonly MachineMigration[];
  /** Where orders and their transitions live, e.g. `new TypeOrmOrderStore(dataSource)`. */
  store: OrderStore;
  /**
   * The per-order lock, e.g. `new RedlockOrderLock(redis)`; `false` for none (the version fence alone
   * still keeps concurrent events from double-applying, at the cost of wasted work under contention).
   */
  lock: OrderLock | false;
  /** The event createOrder() sends. Default `CREATE`. */
  createEvent?: string;
  /**
   * Write a status message (and the work of automatic states) to the outbox with every transition.
   * Default true; switch it off only where no relay will ever publish them.
   */
  outbox?: boolean;
  /** Where status messages and automatic work go (e.g. an AmqpMessaging for both). */
  messaging?: { publisher?: MessagePublisher; consumer?: WorkConsumer };
  /** The outbox relay, which runs in every instance. */
  relay?: RelayOptions;
  /** The worker that turns automatic work into events. Default: on when a consumer is configured. */
  worker?: { enabled?: boolean };
  /** The poller that fires due timers. Default: on, every 500 ms. */
  timers?: PollerOptions;
  /** The sweeper that queues the work of orders stuck in automatic states again. Default: on with the outbox, every 5 s. */
  sweeper?: PollerOptions;
  /** Where to report events, publishes and work (`PrometheusOrderFsmMetrics`); default: nowhere. */
  metrics?: OrderFsmMetrics;
  /**
   * Where to report spans (`OpenTelemetryTracing` from `@order-fsm/core/otel`): sendEvent and its
   * steps, the relay's publishes, the worker's deliveries; and the trace context that outbox rows
   * store and messages carry. Default: none, and nothing is traced or stored.
   */
  tracing?: OrderFsmTracing;
  /**
   * The bizCodes and sceneIds the service serves. Metrics label a transition with its order's
   * bizCode and sceneId when they are among these or named by a processor or plugin, and `other`
   * otherwise, so that orders of unforeseen dimensions cannot grow the series. Default: none
   * besides those the registrations name.
   */
  dimensions?: { bizCodes?: readonly string[]; sceneIds?: readonly string[] };
  /**
   * The reasons the service's checkers and processors fail with (the codes of their
   * `ServiceResult.fail`). Metrics label a CHECK_FAILED refusal with its reason when it is among
   * these or an order-fsm error code, and `other` otherwise, so that a reason made of input (or a
   * bug) cannot grow the series. Default: none besides the error codes.
   */
  refusalReasons?: readonly string[];
  /** On shutdown, how long events in flight may take to finish before the engine stops waiting. Default 10 s. */
  shutdownTimeoutMs?: number;
}

/**
 * The machine an order follows: its own version's (the current one for an order that names none),
 * or undefined when this service does not serve that version.
 */
export function servedMachineOf(options: Pick<ResolvedOrderFsmOptions, 'machine' | 'machines'>, order: { readonly machineVersion?: number }): MachineDefinition | undefined {
  return options.machines.get(order.machineVersion ?? options.machine.version);
}

/** A migration is declared from the order's version, and it moves the order's state on to the next version (as the engine's lazy migration asks). */
export function migratesOnward(
  options: Pick<ResolvedOrderFsmOptions, 'machine' | 'migrations'>,
  order: { readonly machineVersion?: number; readonly state: string },
): boolean {
  return options.migrations.get(order.machineVersion ?? options.machine.version)?.stateFor(order.state) !== undefined;
}

export interface ResolvedOrderFsmOptions {
  /** The current version: new orders follow it. */
  readonly machine: MachineDefinition;
  /** Every version served, by version: the current one and the previous ones. */
  readonly machines: ReadonlyMap<number, MachineDefinition>;
  /** The declared migrations, by the version they migrate from. */
  readonly migrations: ReadonlyMap<number, MachineMigration>;
  readonly store: OrderStore;
  readonly lock: OrderLock;
  readonly initialState: string;
  readonly createEvent: string;
  readonly outbox: boolean;
  readonly publisher?: MessagePublisher;
  readonly consumer?: WorkConsumer;
  readonly relay: Required<RelayOptions>;
  readonly worker: { readonly enabled: boolean };
  readonly timers: Required<PollerOptions>;
  readonly sweeper: Required<PollerOptions>;
  readonly metrics: OrderFsmMetrics;
  readonly tracing: OrderFsmTracing | undefined;
  readonly dimensions: { readonly bizCodes: readonly string[]; readonly sceneIds: readonly string[] };
  readonly refusalReasons: readonly string[];
  readonly shutdownTimeoutMs: number;
}

const isFunction = (value: unknown): boolean => typeof value === 'function';

function positive(name: string, value: number): number {
  if (!Number.isFinite(value) || value <= 0) throw new Error(messages.badOptions(`"${name}" must be a positive number`));
  return value;
}

/** A count of rows: the claims' batches are a LIMIT. */
function positiveWhole(name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value <= 0) throw new Error(messages.badOptions(`"${name}" must be a positive whole number`));
  return value;
}

/** Applies defaults and rejects options that cannot work, for forRoot and forRootAsync alike. */
export function resolveOrderFsmOptions(options: OrderFsmModuleOptions): ResolvedOrderFsmOptions {
  if (!options || typeof options !== 'object') throw new Error(messages.badOptions('options are missing'));
  const { store, lock, machine } = options;
  if (!(machine instanceof MachineDefinition)) throw new Error(messages.badOptions('"machine" must be declared with defineMachine()'));
  if (!store || !isFunction(store.load) || !isFunction(store.commit) || !isFunction(store.listTransitions)) {
    throw new Error(messages.badOptions('"store" must implement OrderStore (load, commit, listTransitions)'));
  }
  if (lock !== false && (!lock || !isFunction(lock.acquire))) {
    throw new Error(messages.badOptions('"lock" must implement OrderLock (acquire), or be false for no lock'));
  }
  const machines = new Map<number, MachineDefinition>([[machine.version, machine]]);
  for (const previous of options.previousMachines ?? []) {
    if (!(previous instanceof MachineDefinition)) throw new Error(messages.badOptions('"previousMachines" must be declared with defineMachine()'));
    if (previous.name !== machine.name) throw new Error(messages.badOptions(`"previousMachines": ${previous.name} v${previous.version} is another machine than ${machine.name}`));
    if (previous.version >= machine.version) {
      throw new Error(messages.badOptions(`"previousMachines": v${previous.version} is not earlier than the current machine's v${machine.version}`));
    }
    if (machines.has(previous.version)) throw new Error(messages.badOptions(`"previousMachines": v${previous.version} is given twice`));
    if (previous.initial !== machine.initial) throw new Error(messages.badOptions(`"previousMachines": v${previous.version} starts from ${previous.initial}, the current machine from ${machine.initial}`));
    machines.set(previous.version, previous);
  }
  const migrations = new Map<number, MachineMigration>();
  for (const migration of options.migrations ?? []) {
    if (!(migration instanceof MachineMigration)) throw new Error(messages.badOptions('"migrations" must be declared with defineMigration()'));
    if (migrations.has(migration.from.version)) throw new Error(messages.badOptions(`"migrations": two migrations start from v${migration.from.version}`));
    if (migration.to.version > machine.version || (machines.has(migration.to.version) && machines.get(migration.to.version) !== migration.to)) {
      throw new Error(messages.badOptions(`"migrations": ${migration.name} leads to a version this service does not serve (serve it in "machine" or "previousMachines")`));
    }
    if (!machines.has(migration.to.version)) throw new Error(messages.badOptions(`"migrations": ${migration.name} leads to v${migration.to.version}, which is not served`));
    migrations.set(migration.from.version, migration);
  }
  const initialState = machine.initial;
  const createEvent = options.createEvent ?? DEFAULT_CREATE_EVENT;
  for (const [name, value] of [
    ['initialState', initialState],
    ['createEvent', createEvent],
  ] as const) {
    if (typeof value !== 'string' || value.length === 0) throw new Error(messages.badOptions(`"${name}" must be a non-empty string`));
  }
  const resolved: ResolvedOrderFsmOptions = Object.freeze({
    machine,
    machines,
    migrations,
    store,
    lock: lock === false ? new NoopOrderLock() : lock,
    initialState,
    createEvent,
    outbox: options.outbox ?? true,
    publisher: options.messaging?.publisher,
    consumer: options.messaging?.consumer,
    relay: {
      enabled: options.relay?.enabled ?? !!options.messaging?.publisher,
      batchSize: positiveWhole('relay.batchSize', options.relay?.batchSize ?? 100),
      pollIntervalMs: positive('relay.pollIntervalMs', options.relay?.pollIntervalMs ?? 250),
      retentionMs: positive('relay.retentionMs', options.relay?.retentionMs ?? 3_600_000),
      purgeIntervalMs: positive('relay.purgeIntervalMs', options.relay?.purgeIntervalMs ?? 60_000),
    },
    worker: { enabled: options.worker?.enabled ?? !!options.messaging?.consumer },
    timers: {
      enabled: options.timers?.enabled ?? true,
      intervalMs: positive('timers.intervalMs', options.timers?.intervalMs ?? 500),
      batchSize: positiveWhole('timers.batchSize', options.timers?.batchSize ?? 20),
    },
    metrics: options.metrics ?? NO_METRICS,
    tracing: options.tracing,
    dimensions: { bizCodes: [...(options.dimensions?.bizCodes ?? [])], sceneIds: [...(options.dimensions?.sceneIds ?? [])] },
    refusalReasons: [...(options.refusalReasons ?? [])],
    shutdownTimeoutMs: positive('shutdownTimeoutMs', options.shutdownTimeoutMs ?? 10_000),
    sweeper: {
      enabled: options.sweeper?.enabled ?? (options.outbox ?? true),
      intervalMs: positive('sweeper.intervalMs', options.sweeper?.intervalMs ?? 5_000),
      batchSize: positiveWhole('sweeper.batchSize', options.sweeper?.batchSize ?? 100),
    },
  });
  if (resolved.relay.enabled && !resolved.publisher) throw new Error(messages.badOptions('the relay needs messaging.publisher'));
  if (resolved.worker.enabled && !resolved.consumer) throw new Error(messages.badOptions('the worker needs messaging.consumer'));
  return resolved;
}
