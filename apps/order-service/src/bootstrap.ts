import type { INestApplication } from '@nestjs/common';
import type { NestExpressApplication } from '@nestjs/platform-express';
import type { ServiceConfig } from './config/service-config.js';
import { setupOpenApi } from './openapi/openapi.js';

/** What main.ts and the end-to-end tests both apply to the application. Create it with `bodyParser: false`. */
export function configureApp(app: INestApplication, config: ServiceConfig): void {
  (app as NestExpressApplication).useBodyParser('json', { limit: config.bodyLimit });
  setupOpenApi(app);
}
