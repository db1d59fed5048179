import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { Logger as PinoNestLogger } from 'nestjs-pino';
import { pino } from 'pino';
import { loadServiceConfig } from './config/service-config.js';
import { logDestination } from './infrastructure/logging.js';

/** A URL without its password, for the log. */
const redacted = (url: string): string => {
  const parsed = new URL(url);
  if (parsed.password) parsed.password = '***';
  return parsed.toString();
};

async function main(): Promise<void> {
  const config = loadServiceConfig();
  // The first line says where the orders go (before Nest's own lines, which wait for the logger). It,
  // the line saying where the service listens and those about its shutdown are written at any
  // LOG_LEVEL but silent, in the LOG_FORMAT of the rest.
  // Written synchronously: the last of them is written just before the process exits.
  const destination = logDestination(config) ?? pino.destination({ dest: 1, sync: true });
  const first = pino({ level: config.logLevel === 'silent' ? 'silent' : 'info' }, destination);
  if (config.mode === 'embedded') {
    first.info(
      { context: 'Bootstrap', mode: 'embedded' },
      `embedded mode: SQLite ${config.sqliteFile ? `in ${config.sqliteFile}` : 'in memory'} (sql.js), an in-process lock and an in-process queue; ` +
        'set DATABASE_URL, REDIS_URL and AMQP_URL to run on MariaDB or PostgreSQL, Redis and RabbitMQ',
    );
  } else {
    first.info(
      { context: 'Bootstrap', mode: 'external' },
      `external mode: database ${redacted(config.databaseUrl)}, Redis ${redacted(config.redisUrl)}, RabbitMQ ${redacted(config.amqpUrl)}`,
    );
  }
  if (config.callersGenerated) {
    // Only ever in embedded mode: a first run needs tokens to call itself with, and these live as long
    // as the process. Written at any LOG_LEVEL, silent too: without them nobody could call it.
    const tokens = config.logLevel === 'silent' ? pino({ level: 'info' }, destination) : first;
    for (const { name, role, token } of config.callers) {
      tokens.info({ context: 'Bootstrap', caller: name, role, token }, `API token for ${role} callers (${name}), until this process stops: Authorization: Bearer ${token}`);
    }
    tokens.info({ context: 'Bootstrap' }, 'set API_TOKENS (name:role:token,...) to choose the callers and keep their tokens across restarts');
  }
  // Tracing starts before the application is loaded: the HTTP instrumentation patches `http` as
  // Fastify requires it. Without OTEL_* variables that ask for it, no part of the SDK is loaded.
  const tracing = config.tracing ? await import('./tracing/tracing-sdk.js') : undefined;
  const started = tracing?.startTracing(config.tracing!);
  const [{ AppModule }, { createServiceApp }] = await Promise.all([import('./app.module.js'), import('./bootstrap.js')]);
  const module = AppModule.register(config);
  const app = await createServiceApp(started ? tracing!.withTracingShutdown(module, started) : module, config, { bufferLogs: true });
  app.useLogger(app.get(PinoNestLogger));
  // Fastify closes once the engine has let the events in flight finish (its beforeApplicationShutdown)
  // and every request has been answered; the database and the broker close after it.
  app
    .getHttpAdapter()
    .getInstance()
    .addHook('onClose', (_instance, done) => {
      first.info({ context: 'Bootstrap' }, 'drained: the events in flight have finished and every request is answered; closing the connections');
      done();
    });
  // Graceful, but bounded: events in flight get SHUTDOWN_TIMEOUT_MS, then closing gets 5 s more.
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      first.info(
        { context: 'Bootstrap', signal },
        `${signal} received: shutting down (new events are refused; those in flight get up to ${config.shutdownTimeoutMs} ms)`,
      );
      setTimeout(() => {
        first.error({ context: 'Bootstrap', signal }, `shutdown took longer than ${config.shutdownTimeoutMs + 5_000} ms; exiting`);
        process.exit(1);
      }, config.shutdownTimeoutMs + 5_000).unref();
      app.close().then(
        () => {
          first.info({ context: 'Bootstrap', signal }, 'closed: the service has stopped');
          // exit() rather than the signal again: pino writes what it still holds on exit.
          process.exit(0);
        },
        (error: unknown) => {
          first.error({ context: 'Bootstrap', signal, err: error }, 'shutdown failed; exiting');
          process.exit(1);
        },
      );
    });
  }
  await app.listen(config.port, '0.0.0.0');
  const { port } = app.getHttpServer().address() as { port: number };
  first.info({ context: 'Bootstrap', port, mode: config.mode }, `taxi order service listening on :${port} (${config.mode} mode, LOG_LEVEL=${config.logLevel})`);
}

main().catch((error) => {
  Logger.error(error instanceof Error ? error.stack ?? error.message : String(error), 'Bootstrap');
  process.exit(1);
});
