// `@order-fsm/core/postgres`: the OrderStore on PostgreSQL 12+ (the `pg` driver, through a TypeORM DataSource).
export { PostgresOrderStore } from './postgres-order-store.js';
export { ORDER_FSM_POSTGRES_MIGRATIONS, OrderFsmPostgresSchema1796284000000, OrderFsmPostgresOperations1796300000000, OrderFsmPostgresWorkAttempts1796400000000, OrderFsmPostgresMachineVersions1796500000000, OrderFsmPostgresLateEventCount1796600000000, OrderFsmPostgresTraceContext1796700000000, OrderFsmPostgresOutboxUnpublished1796800000000 } from './migrations.js';
