// `@order-fsm/core`: what an order service writes its code against: the module, the machine, the
// processor API, the engine, the ports (for writing an adapter), the errors and the diagrams. It
// loads no driver: the adapters are subpaths of their own (`@order-fsm/core/mysql`, `/postgres`,
// `/sqlite`, `/redis`, `/amqp`, `/in-process`, `/prometheus`), and `@order-fsm/core/testing` runs
// processors under the real engine with nothing installed.

// The module and its options.
export { OrderFsmModule } from './order-fsm.module.js';
export { ORDER_FSM_MODULE_OPTIONS } from './order-fsm.module-definition.js';
export type { OrderFsmModuleOptions, RelayOptions, PollerOptions } from './order-fsm.options.js';
export { ORDER_STORE, ORDER_LOCK, MAX_ID_LENGTH, MAX_PAYLOAD_DEPTH, DEFAULT_CREATE_EVENT } from './order-fsm.constants.js';

// The model: orders, events, outcomes, the machine.
export type { FsmOrder, OrderData } from './model/order.js';
export {
  type Caller,
  type OrderStateEvent,
  type OperatorAct,
  type TransitionSource,
  SYSTEM_SENDER,
  OPERATOR_SOURCE,
  FORCE_EVENT,
  MIGRATE_EVENT,
  MIGRATION_SOURCE,
  HELD_SOURCE,
} from './model/event.js';
export type { TransitionOutcome, CreateOrderInput, LateOutcome } from './model/outcome.js';
export { ServiceResult } from './model/service-result.js';
export { type StatusMessage, type WorkMessage, type LateEventMessage, statusRoutingKey } from './model/messages.js';
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
  type LatePolicy,
  type ResolvedLatePolicy,
} from './model/machine.js';
export { defineMigration, MachineMigration, type MigrationSpec } from './model/migration.js';

// Writing processors.
export { OrderProcessor } from './processor/order-processor.decorator.js';
export { ProcessorPlugin, LateEventCompensation } from './processor/processor-plugin.decorator.js';
export { AbstractLateEventCompensation } from './processor/abstract-late-event-compensation.js';
export type { PayloadSchema, RegistrationOptions } from './processor/registration.js';
export { AbstractStateProcessor } from './processor/abstract-state-processor.js';
export { AbstractProcessorPlugin } from './processor/abstract-processor-plugin.js';
export type { Checker, CheckerPlan } from './processor/checker.js';
export type { ProcessorTypes, MachineTypes, UntypedObject } from './processor/processor-types.js';
export { StateContext } from './processor/state-context.js';

// The engine.
export { OrderFsmEngine, derivedRequestId, type ForceInput, type MigrateInput, type MigrationStep, type MigrationOutcome } from './engine/order-fsm.engine.js';
export { transitionLogFields, type TransitionLogFields } from './engine/transition-log-context.js';

// Checking and drawing the machine.
export { validateMachine, type MachineIssue, type MachineIssueCode } from './registry/validate-machine.js';
export { validateVersions } from './registry/validate-versions.js';
export {
  describeMachine,
  describeMachineDiff,
  toDot,
  toMermaid,
  toSvg,
  type DiagramEdge,
  type DiagramRegistry,
  type DiagramScope,
  type DiagramState,
  type DiffStatus,
  type MachineDiagram,
} from './diagram/machine-diagram.js';
export { OrderFsmDiagrams, DIAGRAM_FORMATS, servedMachine, type DiagramFormat } from './diagram/order-fsm-diagrams.js';
export { describeEvents, type EventDescription } from './diagram/event-catalog.js';

// The ports, for writing an adapter of your own (the contract suites in test/ say what each must do).
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
  OperatorActionWrite,
  DeadLetterWrite,
  WorkAttemptWrite,
  WorkAttemptOutcome,
  LateEventWrite,
  HeldEvent,
  HeldEventSettlement,
  LateEventRecord,
} from './ports/order-store.js';
export {
  isOpsStore,
  type OpsStore,
  type OrderListQuery,
  type ListedOrder,
  type OperatorAction,
  type OrderMessage,
  type OrderTimer,
  type DeadLetter,
  type DeadLetterStatus,
  type DeadLetterQuery,
  type DeadLetterSettlement,
  type StateCount,
  type UnpublishedBacklog,
  type OrderHistory,
  type WorkAttempt,
  type Requeue,
} from './ports/ops-store.js';
export type { LockGrant, OrderLock, OrderLockHandle } from './ports/order-lock.js';
export type { MessagePublisher, WorkConsumer, WorkHandler, WorkVerdict } from './ports/message-broker.js';
export { LOCK_OUTCOMES, type LockOutcome, NO_METRICS, type OrderFsmMetrics, type RefusalLabels, type TransitionLabels } from './ports/metrics.js';
export type { OrderFsmTracing, SpanAttributes, SpanRole, TraceCarrier, TraceSpan } from './ports/tracing.js';

// Errors: one table of codes, the classes, the HTTP filter, the database errors a save() may meet.
export * from './errors/order-fsm.errors.js';
export { ERRORS, ERROR_HTTP_STATUS, errorKindOf, type ErrorKind, type OrderFsmErrorCode } from './errors/error-codes.js';
export { isConnectionError, isUniqueViolation } from './errors/db-errors.js';
export { OrderFsmExceptionFilter, toErrorBody, type ErrorBody } from './http/order-fsm-exception.filter.js';
