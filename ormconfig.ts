import { DataSource } from 'typeorm';
import { dataSourceOptions } from './apps/order-service/src/infrastructure/database.js';

/** For the TypeORM CLI: `npm run migration:run` (after `npm run build`). */
export default new DataSource(
  dataSourceOptions(process.env.DATABASE_URL || 'mysql://root@127.0.0.1:3306/test', false),
);
