// `@order-fsm/core/ops`: the operator API, a module an order service mounts behind its own callers
// and roles: lists and timelines, force, pause, resume, events, dead letters, stuck orders, bulk acts
// with dry runs, and the fleet's counts; and its console. docs/OPERATIONS.md describes every endpoint.
export { OrderFsmOpsModule } from './ops.module.js';
export { OPS_MODULE_OPTIONS, OPS_OPTIONS, type OrderFsmOpsOptions, type ResolvedOpsOptions } from './ops.options.js';
export { OrderFsmOpsController } from './ops.controller.js';
export { OpsGuard, Operator } from './ops.guard.js';
export {
  OrderFsmOps,
  type BulkAction,
  type BulkItem,
  type BulkResult,
  type DeadLetterFilter,
  type OrderDetail,
  type OrderFilter,
  type OrderKeyset,
  type Page,
  type RedriveResult,
  type StuckReason,
} from './ops.service.js';
export { FleetCountsCache, type FleetCounts } from './fleet-counts.js';
export { OPS_ENDPOINTS, OPS_COMMON_ERRORS, type OpsEndpoint, type OpsSchema } from './ops-endpoints.js';
export * from './ops-views.js';

// The operator console at /console (docs/OPERATIONS.md, "The operator console").
export * from './console/index.js';
