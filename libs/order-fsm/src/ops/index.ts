// `@order-fsm/core/ops`: the operator's side of an order service.
export * from './console/index.js';
