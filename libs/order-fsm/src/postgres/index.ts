// `@order-fsm/core/postgres`: the OrderStore on PostgreSQL. A subpath of its own, so that the main
// entry point never asks for `pg`; a DataSource of type `postgres` loads it, and only then.
export { PostgresOrderStore } from './postgres-order-store.js';
