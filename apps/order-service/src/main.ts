import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { AppModule } from './app.module.js';
import { configureApp } from './bootstrap.js';
import { loadServiceConfig } from './config/service-config.js';

async function main(): Promise<void> {
  const config = loadServiceConfig();
  const app = await NestFactory.create(AppModule.register(config), { bodyParser: false });
  configureApp(app, config);
  app.enableShutdownHooks();
  // Graceful, but bounded: events in flight get SHUTDOWN_TIMEOUT_MS, then closing gets 5 s more.
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      setTimeout(() => {
        Logger.error(`shutdown took longer than ${config.shutdownTimeoutMs + 5_000} ms; exiting`, 'Bootstrap');
        process.exit(1);
      }, config.shutdownTimeoutMs + 5_000).unref();
    });
  }
  await app.listen(config.port);
  const { port } = app.getHttpServer().address() as { port: number };
  Logger.log(`taxi order service listening on :${port}`, 'Bootstrap');
}

main().catch((error) => {
  Logger.error(error instanceof Error ? error.stack ?? error.message : String(error), 'Bootstrap');
  process.exit(1);
});
