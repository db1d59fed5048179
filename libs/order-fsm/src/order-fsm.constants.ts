export const ORDER_PROCESSOR_METADATA = 'order-fsm:processor_metadata';
export const PROCESSOR_PLUGIN_METADATA = 'order-fsm:plugin_metadata';
export const LATE_COMPENSATION_METADATA = 'order-fsm:late_compensation_metadata';

/** Injection token of the resolved, validated module options. */
export const ORDER_FSM_OPTIONS = Symbol('order-fsm:options');
/** Injection token of the {@link OrderStore} port. */
export const ORDER_STORE = Symbol('order-fsm:store');
/** Injection token of the {@link OrderLock} port. */
export const ORDER_LOCK = Symbol('order-fsm:lock');

/** The value of an omitted dimension in registry keys: it matches anything. */
export const ANY = '*';

export const DEFAULT_CREATE_EVENT = 'CREATE';
export const MAX_ID_LENGTH = 64;

/** How deep an event payload may nest objects and arrays: deeper is VALIDATION_FAILED, never a stack overflow. */
export const MAX_PAYLOAD_DEPTH = 32;
