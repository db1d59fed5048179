import { type DynamicModule, Global, type INestApplicationContext, type LogLevel, Module, type ModuleMetadata, type Provider } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { randomUUID } from 'node:crypto';
import { DataSource, type DataSourceOptions } from 'typeorm';
import { InProcessMessaging } from '../adapters/in-process/in-process-messaging.js';
import { InProcessOrderLock } from '../adapters/in-process/in-process-order-lock.js';
import { SqliteOrderStore } from '../adapters/sqlite/sqlite-order-store.js';
import type { FsmOrder } from '../model/order.js';
import { type Caller, SYSTEM_SENDER } from '../model/event.js';
import { OrderFsmEngine } from '../engine/order-fsm.engine.js';
import type { StatusMessage } from '../model/messages.js';
import type { TransitionOutcome } from '../model/outcome.js';
import type { MachineDefinition } from '../model/machine.js';
import type { MachineMigration } from '../model/migration.js';
import { DEFAULT_CREATE_EVENT } from '../order-fsm.constants.js';
import { OrderFsmModule } from '../order-fsm.module.js';
import type { TransitionLogEntry } from '../ports/order-store.js';
import { TimerPoller } from '../workers/timer-poller.js';

export interface OrderFsmTestbedOptions {
  /** The machine your processors belong to: its current version. */
  machine: MachineDefinition;
  /** Earlier versions still served, for processors that serve them (`versions: [1, 2]`). */
  previousMachines?: readonly MachineDefinition[];
  /** Migrations between the versions served (defineMigration). */
  migrations?: readonly MachineMigration[];
  /** Your modules, with the processors, checkers and plugins to test. */
  imports?: ModuleMetadata['imports'];
  /** More providers, visible to every module (a clock, a settings object). */
  providers?: Provider[];
  /** Stand-ins for providers of your modules (a payment gateway, say), as Nest's overrideProvider(). */
  overrides?: ReadonlyArray<{ provide: unknown; useValue: unknown } | { provide: unknown; useClass: new (...args: never[]) => unknown }>;
  /** Your TypeORM entities: their tables are created in the testbed's SQLite database. */
  entities?: DataSourceOptions['entities'];
  /** The per-order lock; default true (an in-process one). */
  lock?: boolean;
  /**
   * Whether the worker turns the automatic work of automatic states into events, as in production.
   * Default true; false leaves every event to the test (a shadow replay sends the worker's own).
   */
  automatic?: boolean;
  /** Delays before the 2nd, 3rd, ... delivery of failing automatic work. Default 10 ms and 50 ms. */
  retryDelaysMs?: readonly number[];
  /** The event create() sends. Default `CREATE`. */
  createEvent?: string;
  /** Nest's log levels. Default errors and warnings. */
  logger?: LogLevel[] | false;
}

export interface TestbedCreateInput<P = unknown> {
  bizCode: string;
  sceneId: string;
  payload?: P;
  /** Generated when omitted. */
  requestId?: string;
  orderId?: string;
  /** Who creates it. Default: see TestbedSendOptions.caller. */
  caller?: Caller;
}

export interface TestbedSendOptions {
  /** Generated when omitted; give one to test a replay. */
  requestId?: string;
  /** Refuse the event unless the order is in this state. */
  expectedState?: string;
  /**
   * Who sends it. Default: a caller named `testbed` with the first role other than `system` that the
   * machine's `sentBy` names for the event (none when the machine says nothing of senders). Give one
   * to test who is refused.
   */
  caller?: Caller;
}

/**
 * Your processors under the real engine, with nothing to run: an in-memory SQLite database (sql.js
 * through TypeORM), an in-process lock and an in-process queue. The template, the checkers, the
 * plugins, the version fence, idempotency, the outbox, the worker and the timers are the ones
 * production runs; only the adapters differ.
 *
 * ```ts
 * const fsm = await OrderFsmTestbed.create({ machine, imports: [ParcelModule] });
 * const { orderId } = await fsm.create({ bizCode: 'PARCEL', sceneId: 'APP' });
 * await fsm.send(orderId, 'SHIP', { carrier: 'dhl' });
 * expect(await fsm.stateOf(orderId)).toBe('SHIPPED');
 * await fsm.close();
 * ```
 */
export class OrderFsmTestbed {
  private constructor(
    readonly app: INestApplicationContext,
    readonly engine: OrderFsmEngine,
    readonly dataSource: DataSource,
    readonly messaging: InProcessMessaging,
    private readonly store: SqliteOrderStore,
    private readonly machine: { readonly definition: MachineDefinition; readonly createEvent: string },
  ) {}

  static async create(options: OrderFsmTestbedOptions): Promise<OrderFsmTestbed> {
    const dataSource = new DataSource({ type: 'sqljs', entities: options.entities ?? [], synchronize: true, logging: false });
    await dataSource.initialize();
    const store = new SqliteOrderStore(dataSource);
    await store.ensureSchema();
    const messaging = new InProcessMessaging({ retryDelaysMs: options.retryDelaysMs ?? [10, 50] });

    @Global()
    @Module({ providers: [{ provide: DataSource, useValue: dataSource }, ...(options.providers ?? [])], exports: [DataSource, ...(options.providers ?? [])] })
    class TestbedProvidersModule {}

    @Module({})
    class OrderFsmTestbedModule {}
    const root: DynamicModule = {
      module: OrderFsmTestbedModule,
      imports: [
        TestbedProvidersModule,
        OrderFsmModule.forRoot({
          isGlobal: true,
          machine: options.machine,
          previousMachines: options.previousMachines,
          migrations: options.migrations,
          store,
          lock: options.lock === false ? false : new InProcessOrderLock(),
          createEvent: options.createEvent,
          messaging: { publisher: messaging, consumer: messaging },
          worker: { enabled: options.automatic ?? true },
          relay: { pollIntervalMs: 20 },
          // The test decides when time passes: fireTimers(at).
          timers: { enabled: false },
          sweeper: { enabled: false },
          shutdownTimeoutMs: 1_000,
        }),
        ...(options.imports ?? []),
      ],
    };
    let app: INestApplicationContext;
    try {
      let builder = Test.createTestingModule({ imports: [root] });
      for (const override of options.overrides ?? []) {
        const chosen = builder.overrideProvider(override.provide);
        builder = 'useValue' in override ? chosen.useValue(override.useValue) : chosen.useClass(override.useClass);
      }
      const moduleRef = await builder.compile();
      moduleRef.useLogger(options.logger ?? ['error', 'warn']);
      app = await moduleRef.init();
    } catch (error) {
      await dataSource.destroy().catch(() => undefined);
      throw error;
    }
    return new OrderFsmTestbed(app, app.get(OrderFsmEngine), dataSource, messaging, store, {
      definition: options.machine,
      createEvent: options.createEvent ?? DEFAULT_CREATE_EVENT,
    });
  }

  /** A provider of the testbed (one of your processors, a stand-in you gave). */
  get<T>(token: string | symbol | (abstract new (...args: never[]) => T)): T {
    return this.app.get(token as never, { strict: false });
  }

  /** Creates an order through your create processor. */
  create<T = unknown, P = unknown>(input: TestbedCreateInput<P>): Promise<TransitionOutcome<T>> {
    const event = this.machine.createEvent;
    return this.engine.createOrder<T, P>({ ...input, requestId: input.requestId ?? randomUUID(), caller: input.caller ?? this.defaultCaller(event) });
  }

  /** Sends an event to an order; rejects with the engine's error (its `code`) when it is refused. */
  send<T = unknown>(orderId: string, event: string, payload: Record<string, unknown> = {}, options: TestbedSendOptions = {}): Promise<TransitionOutcome<T>> {
    return this.engine.sendEvent<T>({
      eventType: event,
      orderId,
      payload,
      requestId: options.requestId ?? randomUUID(),
      orderState: options.expectedState,
      caller: options.caller ?? this.defaultCaller(event),
    });
  }

  private defaultCaller(event: string): Caller | undefined {
    const role = [...(this.machine.definition.sendersOf(event) ?? [])].find((sender) => sender !== SYSTEM_SENDER);
    return role === undefined ? undefined : { name: 'testbed', role };
  }

  async order(orderId: string): Promise<FsmOrder> {
    const order = await this.engine.findOrder(orderId);
    if (!order) throw new Error(`order ${orderId} does not exist`);
    return order;
  }

  async stateOf(orderId: string): Promise<string> {
    return (await this.order(orderId)).state;
  }

  transitions(orderId: string): Promise<TransitionLogEntry[]> {
    return this.engine.listTransitions(orderId);
  }

  /** The states the order went through, from the first transition's target on. */
  async path(orderId: string): Promise<string[]> {
    return (await this.transitions(orderId)).map((t) => t.toState);
  }

  /** Status messages published so far (of one order, when given), oldest first. */
  statusMessages(orderId?: string): StatusMessage[] {
    return this.messaging.recent().filter((m) => orderId === undefined || m.orderId === orderId);
  }

  /**
   * Waits until nothing is left to do: the outbox is published and no automatic work is queued,
   * waiting for a retry or running. Orders in automatic states have then moved as far as they go.
   */
  async settle(timeoutMs = 5_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let quiet = 0;
    while (quiet < 2) {
      const { count } = await this.store.outboxBacklog();
      quiet = count === 0 && this.messaging.idle ? quiet + 1 : 0;
      if (Date.now() > deadline) throw new Error(`the testbed did not settle within ${timeoutMs} ms (outbox backlog ${count})`);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }

  /** Fires the timers due at `at` (default now), as the timer poller would; answers how many. */
  fireTimers(at: Date = new Date()): Promise<number> {
    return this.app.get(TimerPoller).fireDue(at, 1_000);
  }

  async close(): Promise<void> {
    await this.app.close();
    await this.dataSource.destroy();
  }
}
