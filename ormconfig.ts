import { dataSourceOptions, ServiceDataSource } from './apps/order-service/src/infrastructure/database.js';

/**
 * For the TypeORM CLI: `npm run migration:run` (after `npm run build`), on the DATABASE_URL given:
 * MariaDB or MySQL (`mysql://`), or PostgreSQL (`postgres://`), where order-fsm's tables are made
 * first, by PostgresOrderStore.ensureSchema().
 */
export default new ServiceDataSource(
  dataSourceOptions(process.env.DATABASE_URL || 'mysql://root@127.0.0.1:3306/test', false),
);
