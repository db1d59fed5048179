// `@order-fsm/core/mysql`: the OrderStore on MariaDB 10.6+ and MySQL 8 (the `mysql2` driver, through a TypeORM
// DataSource), and the migrations of its tables.
export { MysqlOrderStore, TypeOrmOrderStore } from './mysql-order-store.js';
export { OrderFsmSchema1763856000000 } from './migrations/1763856000000-order-fsm-schema.js';
export { OrderFsmReliability1763856000002 } from './migrations/1763856000002-order-fsm-reliability.js';
export { OrderFsmCallers1764720000000 } from './migrations/1764720000000-order-fsm-callers.js';
export { OrderFsmOperations1796300000000 } from './migrations/1796300000000-order-fsm-operations.js';
export { OrderFsmWorkAttempts1796400000000 } from './migrations/1796400000000-order-fsm-work-attempts.js';
export { OrderFsmMachineVersions1796500000000 } from './migrations/1796500000000-order-fsm-machine-versions.js';
export { OrderFsmLateEventCount1796600000000 } from './migrations/1796600000000-order-fsm-late-event-count.js';
export { OrderFsmTraceContext1796700000000 } from './migrations/1796700000000-order-fsm-trace-context.js';
/** Every migration of the engine's tables, oldest first: list them in your DataSource. */
export { ORDER_FSM_MIGRATIONS } from './migrations/index.js';
