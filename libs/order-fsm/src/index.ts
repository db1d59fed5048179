export * from './order-fsm.constants.js';
export { OrderFsmModule } from './order-fsm.module.js';
export { ORDER_FSM_MODULE_OPTIONS } from './order-fsm.module-definition.js';
export type { OrderFsmModuleOptions, ResolvedOrderFsmOptions } from './order-fsm.options.js';

export { OrderProcessor } from './decorators/order-processor.decorator.js';
export { ProcessorPlugin } from './decorators/processor-plugin.decorator.js';
export type { RegistrationOptions, RegistrationMetadata } from './decorators/registration.js';

export { ProcessorRegistry, type Registration } from './registry/processor-registry.js';
export { validateMachine, type MachineIssue, type MachineIssueCode } from './machine/validate-machine.js';
export {
  describeMachine,
  toDot,
  toMermaid,
  toSvg,
  type DiagramEdge,
  type DiagramScope,
  type DiagramState,
  type MachineDiagram,
} from './diagram/machine-diagram.js';
export { OrderFsmDiagrams, DIAGRAM_FORMATS, type DiagramFormat } from './diagram/order-fsm-diagrams.js';
export { NO_METRICS, type OrderFsmMetrics } from './metrics/order-fsm-metrics.js';
export { PrometheusOrderFsmMetrics } from './metrics/prometheus-metrics.js';
export {
  defineMachine,
  MachineDefinition,
  type StateOf,
  type EventOf,
  type MachineSpec,
  type StateSpec,
  type TransitionSpec,
  type AutomaticSpec,
  type EventSpec,
  type DeclaredTransition,
} from './machine/machine-definition.js';

export { OrderFsmEngine, derivedRequestId, SYSTEM_CALLER_KEY } from './engine/order-fsm.engine.js';
export { type StatusMessage, type WorkMessage, statusRoutingKey } from './engine/outbox-messages.js';
export { canonicalJson } from './engine/request-hash.js';
export { transitionLogFields, type TransitionLogFields } from './engine/transition-log-context.js';
export { AbstractStateProcessor } from './engine/abstract-state-processor.js';
export { AbstractProcessorPlugin } from './engine/abstract-processor-plugin.js';
export type { Checker, CheckerPlan } from './engine/checker.js';
export { ServiceResult } from './engine/service-result.js';
export { StateContext } from './engine/state-context.js';
export type { FsmOrder, OrderData } from './engine/fsm-order.js';
export { type Caller, type OrderStateEvent, type TransitionSource, SYSTEM_SENDER } from './engine/order-state-event.js';
export type { TransitionOutcome, CreateOrderInput } from './engine/transition-outcome.js';

export type {
  OrderStore,
  TransitionWrite,
  TransitionLogEntry,
  SaveOutcome,
  OutboxMessage,
  TimerWrite,
  ConsumedRequest,
  ClaimedMessage,
  DueTimer,
  StuckOrder,
} from './persistence/order-store.js';
export { TypeOrmOrderStore } from './persistence/typeorm-order-store.js';
export { isConnectionError, isUniqueViolation } from './persistence/db-errors.js';
export { OrderFsmSchema1763856000000 } from './persistence/migrations/1763856000000-order-fsm-schema.js';
export { OrderFsmReliability1763856000002 } from './persistence/migrations/1763856000002-order-fsm-reliability.js';
export { OrderFsmCallers1764720000000 } from './persistence/migrations/1764720000000-order-fsm-callers.js';
/** Every migration of the engine's tables, oldest first: list them in your DataSource. */
export { ORDER_FSM_MIGRATIONS } from './persistence/migrations/index.js';

export type { OrderLock, OrderLockHandle } from './lock/order-lock.js';
export { RedlockOrderLock, type RedlockOrderLockOptions } from './lock/redlock-order-lock.js';
export { NoopOrderLock } from './lock/noop-order-lock.js';

export type { MessagePublisher, WorkConsumer, WorkHandler, WorkVerdict } from './messaging/message-broker.js';
export { AmqpMessaging, amqpTopology, type AmqpMessagingOptions, type AmqpTopology } from './messaging/amqp-messaging.js';

// Embedded adapters: one process, nothing to install (a first run, a demo, tests).
export { SqliteOrderStore } from './embedded/sqlite-order-store.js';
export { InProcessOrderLock, type InProcessOrderLockOptions } from './embedded/in-process-order-lock.js';
export { InProcessMessaging, type DeadLetter, type InProcessMessagingOptions, type StatusListener } from './embedded/in-process-messaging.js';
export { OutboxRelay } from './outbox/outbox-relay.js';
export { OrderFsmWorker } from './worker/order-fsm.worker.js';
export { TimerPoller } from './worker/timer-poller.js';
export { Sweeper } from './worker/sweeper.js';
export type { RelayOptions, PollerOptions } from './order-fsm.options.js';

export * from './errors/order-fsm.errors.js';
export { ERRORS, ERROR_HTTP_STATUS, errorKindOf, type ErrorKind, type OrderFsmErrorCode } from './errors/error-codes.js';
export { OrderFsmExceptionFilter, toErrorBody, type ErrorBody } from './http/order-fsm-exception.filter.js';
