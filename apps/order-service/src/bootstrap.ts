import type { IncomingMessage } from 'node:http';
import type { DynamicModule, NestApplicationOptions } from '@nestjs/common';
import { OrderFsmEngine } from '@order-fsm/core';
import { NestFactory } from '@nestjs/core';
import fastifyCookie from '@fastify/cookie';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { installAuthentication } from './auth/auth.js';
import { CallerDirectory } from './auth/callers.js';
import type { ServiceConfig } from './config/service-config.js';
import { clientErrorHandler, frameworkErrors, MAX_PARAM_LENGTH, useHttpRequirements, useMethodNotAllowed, useRateLimit, useSecurityHeaders, useShutdownRefusal } from './infrastructure/http-boundary.js';
import { useJsonBodyParser } from './infrastructure/json-body.parser.js';
import { noteRefusals, requestLinesOn } from './infrastructure/logging.js';
import { REQUEST_ID_HEADER, requestIdOf } from './infrastructure/request-id.js';
import { useHttpMetrics } from './metrics/http-metrics.js';
import { setupOpenApi } from './openapi/openapi.js';

/**
 * The HTTP server: Fastify, which leaves the engine about a third more of the CPU than Express did
 * on the REST path (docs/BENCHMARKS.md). It parses JSON bodies up to the configured size and refuses
 * other media types before any controller runs; the exception filter answers those refusals too.
 */
export function createHttpAdapter(config: ServiceConfig): FastifyAdapter {
  const { headersTimeoutMs, requestTimeoutMs, connectionTimeoutMs } = config.http;
  const adapter = new FastifyAdapter({
    bodyLimit: config.bodyLimitBytes,
    // A client that stops sending (headers that never end, a body shorter than its Content-Length)
    // is answered 408 and its connection closed, rather than held open for good. Node checks for such
    // requests every `connectionsCheckingInterval` (30 s by default): a second at most here, so that a
    // request is cut off within a second of its timeout.
    requestTimeout: requestTimeoutMs,
    connectionTimeout: connectionTimeoutMs,
    // requireHostHeader: a request without Host is answered by the service (useHttpRequirements), not by Node's bare 400.
    http: { headersTimeout: headersTimeoutMs, connectionsCheckingInterval: Math.max(50, Math.min(1_000, Math.floor(headersTimeoutMs / 4))), requireHostHeader: false },
    clientErrorHandler,
    // Ids are checked by the IdPipe (VALIDATION_FAILED, 400); Fastify's own limit (100) would answer 414 first.
    routerOptions: { maxParamLength: MAX_PARAM_LENGTH },
    // A request that arrives on an open connection while the server closes (after the engine has
    // drained) goes through the hooks and the routes as any other: the engine refuses an event with
    // 503 DEPENDENCY_UNAVAILABLE in the service's error body, with X-Request-Id and the security
    // headers, and a read is answered. Fastify's own 503 for it had no `code` and none of those headers.
    return503OnClosing: false,
    // What the router refuses itself (a malformed percent-escape, a parameter over that length).
    frameworkErrors,
    // The request's id (request.id, and `req.id`/`reqId` in its log lines): the caller's X-Request-Id, a traceparent's trace id, or a new one.
    genReqId: (request: IncomingMessage) => requestIdOf(request.headers),
  });
  // Every answer says which request it answers, refusals and 503s included: onSend runs for each
  // reply Fastify sends, whoever sends it (a hook, the router's own refusals, a controller, the filter).
  adapter.getInstance().addHook('onSend', (request, reply, payload, done) => {
    reply.header(REQUEST_ID_HEADER, request.id);
    done(null, payload);
  });
  return adapter;
}

/** What main.ts, the demo and the end-to-end tests all apply to the application, before it is initialised. */
export async function configureApp(app: NestFastifyApplication, config: ServiceConfig): Promise<void> {
  // First: every answer is counted, the refusals of the hooks below included.
  useHttpMetrics(app);
  // Each request's span named by its route, for every route (a hook of the root instance).
  if (config.tracing) (await import('./tracing/tracing-sdk.js')).nameHttpSpansByRoute(app.getHttpAdapter().getInstance());
  useJsonBodyParser(app, config.bodyLimitBytes);
  // Before any route is added (the OpenAPI's are, here): they cover the routes added after them. In
  // this order: security headers on every answer, 401s included; the rate limit, which counts a
  // known caller's requests against its own bucket and anything else against its address; then the
  // 401 for a request with no token the service knows; then 405 for a method a path does not take.
  const callers = new CallerDirectory(config.callers);
  useSecurityHeaders(app);
  useHttpRequirements(app);
  const engine = app.get(OrderFsmEngine);
  useShutdownRefusal(app, () => engine.isClosing);
  // Cookies are parsed in an onRequest hook of the instance, before the rate limit's (a route's)
  // asks who the caller is: the operator console signs in with one.
  await app.register(fastifyCookie);
  await useRateLimit(app, config.rateLimit, callers);
  installAuthentication(app, callers);
  if (requestLinesOn(config)) noteRefusals(app);
  useMethodNotAllowed(app);
  setupOpenApi(app);
}

/** The service's application, as main.ts and the demo build it. */
export async function createServiceApp(module: DynamicModule, config: ServiceConfig, options: NestApplicationOptions = {}): Promise<NestFastifyApplication> {
  const app = await NestFactory.create<NestFastifyApplication>(module, createHttpAdapter(config), options);
  await configureApp(app, config);
  return app;
}
