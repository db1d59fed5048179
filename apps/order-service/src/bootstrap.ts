import type { DynamicModule, NestApplicationOptions } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import type { ServiceConfig } from './config/service-config.js';
import { useJsonBodyParser } from './infrastructure/json-body.parser.js';
import { setupOpenApi } from './openapi/openapi.js';

/**
 * The HTTP server: Fastify, which leaves the engine about a third more of the CPU than Express did
 * on the REST path (docs/BENCHMARKS.md). It parses JSON bodies up to the configured size and refuses
 * other media types before any controller runs; the exception filter answers those refusals too.
 */
export function createHttpAdapter(config: ServiceConfig): FastifyAdapter {
  return new FastifyAdapter({
    bodyLimit: config.bodyLimitBytes,
    // Ids are checked by the IdPipe (VALIDATION_FAILED, 400); Fastify's own limit (100) would answer 414 first.
    routerOptions: { maxParamLength: 16 * 1024 },
  });
}

/** What main.ts, the demo and the end-to-end tests all apply to the application, before it is initialised. */
export async function configureApp(app: NestFastifyApplication, config: ServiceConfig): Promise<void> {
  useJsonBodyParser(app, config.bodyLimitBytes);
  setupOpenApi(app);
}

/** The service's application, as main.ts and the demo build it. */
export async function createServiceApp(module: DynamicModule, config: ServiceConfig, options: NestApplicationOptions = {}): Promise<NestFastifyApplication> {
  const app = await NestFactory.create<NestFastifyApplication>(module, createHttpAdapter(config), options);
  await configureApp(app, config);
  return app;
}
