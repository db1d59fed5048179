import { DataSource } from 'typeorm';
import { dataSourceOptions } from './apps/order-service/src/infrastructure/database.js';

/**
 * For the TypeORM CLI: `npm run migration:run` (after `npm run build`), on the DATABASE_URL given:
 * MariaDB or MySQL (`mysql://`), or PostgreSQL (`postgres://`), each with its own migrations.
 */
export default new DataSource(
  dataSourceOptions(process.env.DATABASE_URL || 'mysql://root@127.0.0.1:3306/test', false),
);
