// `@order-fsm/core/postgres`: the OrderStore on PostgreSQL 12+ (the `pg` driver, through a TypeORM DataSource).
export { PostgresOrderStore } from './postgres-order-store.js';
