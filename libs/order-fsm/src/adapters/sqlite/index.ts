// `@order-fsm/core/sqlite`: the OrderStore on SQLite (`sql.js`, SQLite compiled to WebAssembly): one process, nothing to install.
export { SqliteOrderStore } from './sqlite-order-store.js';
