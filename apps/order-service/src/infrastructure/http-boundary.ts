import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { randomUUID } from 'node:crypto';
import helmet, { type HelmetOptions } from 'helmet';
import rateLimit, { normalizeIP } from '@fastify/rate-limit';
import { Logger } from '@nestjs/common';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { DependencyUnavailableError, type ErrorBody, MethodNotAllowedError, RateLimitedError, toErrorBody, ValidationFailedError } from '@order-fsm/core';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { identify } from '../auth/auth.js';
import type { CallerDirectory } from '../auth/callers.js';
import type { ServiceConfig } from '../config/service-config.js';
import { REQUEST_ID_HEADER } from './request-id.js';

/** Headers every answer carries, those written before any route or hook runs included. */
const RAW_HEADERS = 'Content-Type: application/json; charset=utf-8\r\nX-Content-Type-Options: nosniff\r\nConnection: close';

/**
 * What Node's HTTP parser refused before Fastify saw a request: a request that did not arrive in time
 * (REQUEST_TIMEOUT_MS, HEADERS_TIMEOUT_MS), headers over Node's 16 KiB, or bytes that are not HTTP.
 * It answers with the service's error body, as everything else does, and closes the connection.
 */
export function clientErrorHandler(error: Error & { code?: string }, socket: Socket): void {
  // A reset connection has nobody to answer.
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const body: ErrorBody =
    error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
      ? { statusCode: 408, code: 'REQUEST_TIMEOUT', message: 'the request did not arrive in time' }
      : error.code === 'HPE_HEADER_OVERFLOW'
        ? { statusCode: 431, code: 'HEADERS_TOO_LARGE', message: 'the request headers are larger than 16 KiB' }
        : { statusCode: 400, code: 'VALIDATION_FAILED', message: 'the request is not valid HTTP' };
  const text = JSON.stringify(body);
  const reason = body.statusCode === 408 ? 'Request Timeout' : body.statusCode === 431 ? 'Request Header Fields Too Large' : 'Bad Request';
  // No request was read, so none has an id: the answer gets a fresh one, as every answer carries one.
  const id = `X-Request-Id: ${randomUUID()}`;
  if (socket.writable) socket.write(`HTTP/1.1 ${body.statusCode} ${reason}\r\n${RAW_HEADERS}\r\n${id}\r\nContent-Length: ${Buffer.byteLength(text)}\r\n\r\n${text}`);
  socket.destroy(error);
}

/** The longest path parameter the router takes; ids are checked (and refused) by the IdPipe long before. */
export const MAX_PARAM_LENGTH = 16 * 1024;

/**
 * What Fastify's router refuses before any hook, guard or filter runs: a URL with a malformed
 * percent-escape, or a path parameter over MAX_PARAM_LENGTH. Both are the service's
 * VALIDATION_FAILED (400), in its own error body, rather than Fastify's FST_ERR_BAD_URL body (or 414).
 */
export function frameworkErrors(error: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  const body: ErrorBody =
    error.code === 'FST_ERR_BAD_URL'
      ? { statusCode: 400, code: 'VALIDATION_FAILED', message: 'the URL is not valid: it has a malformed percent-escape' }
      : error.code === 'FST_ERR_MAX_PARAM_LENGTH'
        ? { statusCode: 400, code: 'VALIDATION_FAILED', message: `a path parameter is longer than ${MAX_PARAM_LENGTH} characters` }
        : toErrorBody(error);
  // Before any hook: the onSend hook that adds X-Request-Id to every other answer does not run.
  void reply.code(body.statusCode).header('x-content-type-options', 'nosniff').header(REQUEST_ID_HEADER, request.id).send(body);
  // No middleware, and so no request logger, runs for a request the router refused: its line is written
  // here (at info, as any refusal's; rare enough not to matter above it, where it is filtered out).
  const req = { id: request.id, method: request.method, url: request.url };
  Logger.log({ reqId: request.id, req, res: reply.raw, code: body.code, reason: body.message }, 'request refused', 'HTTP');
}

/**
 * Whose bucket a request counts against: its caller's, when its token is one the service knows;
 * else its address's (IPv6 by /64, as a host usually gets a whole /64). A request with no token or
 * a wrong one counts against its address: guessing tokens is limited like anything else.
 */
export function callerKey(request: FastifyRequest, directory: CallerDirectory): string {
  const caller = identify(request, directory);
  return caller ? `caller:${caller.name}` : `ip:${normalizeIP(request.ip, 64)}`;
}

/**
 * Probes and scrapes: an orchestrator's or Prometheus's requests are never refused for a busy
 * neighbour. `/health` takes no token; `/metrics` does, so only a caller the service knows is
 * let through unlimited there: a wrong token counts against its address, or `/metrics` would
 * tell a right token from a wrong one (200 or 403 against 401) without limit.
 */
const unlimited = (request: FastifyRequest, key: string): boolean => {
  const route = request.routeOptions.url;
  return route === '/health' || (route === '/metrics' && key.startsWith('caller:'));
};

/**
 * RATE_LIMIT_MAX requests per RATE_LIMIT_WINDOW_MS for each caller (callerKey), counted in this
 * instance, before anything else is done for a request: more are RATE_LIMITED (429), with Retry-After,
 * in the service's error body. Register it before the routes it covers.
 */
export async function useRateLimit(app: NestFastifyApplication, { max, windowMs }: ServiceConfig['rateLimit'], directory: CallerDirectory): Promise<void> {
  if (max === 0) return;
  await app.register(rateLimit, {
    // Before the authentication hook (preParsing) answers 401: a wrong token counts against its address.
    hook: 'onRequest',
    max,
    timeWindow: windowMs,
    keyGenerator: (request) => callerKey(request, directory),
    allowList: unlimited,
    errorResponseBuilder: (_request, context) => new RateLimitedError(Math.max(1, Math.ceil(context.ttl / 1000)), context.max, windowMs),
  });
  // The plugin adds its hook to each route as the route is added; a request that matches none (an
  // unknown path, a method the path does not take, OPTIONS) runs the instance's hooks only, and was
  // never counted: a token could be guessed there without limit (401 for a wrong one, 404 or 405 for
  // a right one). The same limiter, with the same buckets, counts those requests too.
  const fastify = app.getHttpAdapter().getInstance();
  const limitUnrouted = fastify.rateLimit();
  // A callback hook: routed requests, the hot path, pass it without a promise.
  fastify.addHook('onRequest', (request, reply, done) => {
    if (!request.is404) return done();
    limitUnrouted.call(fastify, request, reply).then(() => done(), done);
  });
}

/**
 * helmet's options for the pages the service serves (the Swagger UI at /docs, the console, the
 * diagram's viewer), the SVG of /fsm/diagram, their scripts and styles, and any other answer that is
 * not JSON: `X-Content-Type-Options: nosniff`, and a Content-Security-Policy and frame options under
 * which those pages load their scripts, styles and images from this origin only; inline styles (in
 * the pages and in the SVG) are the one thing allowed inline. No page of the service is meant to be
 * framed. `upgrade-insecure-requests` is left out: the service answers plain HTTP, and a browser
 * told to upgrade would fetch the pages' assets over HTTPS, from nobody.
 */
export const SECURITY_HEADER_OPTIONS: HelmetOptions = {
  contentSecurityPolicy: {
    useDefaults: false,
    directives: {
      defaultSrc: ["'self'"],
      baseUri: ["'self'"],
      connectSrc: ["'self'"],
      fontSrc: ["'self'", 'data:'],
      formAction: ["'self'"],
      frameAncestors: ["'none'"],
      imgSrc: ["'self'", 'data:'],
      objectSrc: ["'none'"],
      scriptSrc: ["'self'"],
      scriptSrcAttr: ["'none'"],
      styleSrc: ["'self'", "'unsafe-inline'"],
    },
  },
  frameguard: { action: 'deny' },
};

/**
 * helmet's options for JSON answers (the API and every error body), after OWASP's REST Security
 * Cheat Sheet: nothing may load or frame them (`default-src 'none'; frame-ancestors 'none'`,
 * `X-Frame-Options: DENY`), nosniff, HSTS, no referrer, same-origin resources only. The headers
 * that only an HTML document heeds (opener policy, agent clusters, DNS prefetch, IE's download
 * options, Flash's cross-domain policies, the XSS auditor) are left out. API_CACHE_CONTROL is added.
 */
export const API_SECURITY_HEADER_OPTIONS: HelmetOptions = {
  contentSecurityPolicy: { useDefaults: false, directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] } },
  frameguard: { action: 'deny' },
  crossOriginOpenerPolicy: false,
  originAgentCluster: false,
  dnsPrefetchControl: false,
  ieNoOpen: false,
  permittedCrossDomainPolicies: false,
  xssFilter: false,
};

/** A JSON answer (an order, a log, an error) is stored by no cache, a browser's or a proxy's, unless its route says otherwise. */
export const API_CACHE_CONTROL = 'no-store';

/** What the service answers as JSON: `application/json`, or a `+json` type. */
const JSON_MEDIA = /^application\/(?:[\w.-]+\+)?json\s*(?:;|$)/i;

/** A directive's sources: helmet takes any iterable of them, or one function. */
const sourcesOf = (value: unknown): unknown[] =>
  typeof value === 'object' && value !== null && Symbol.iterator in value ? [...(value as Iterable<unknown>)] : [value];

/**
 * The headers helmet's middleware sets with `options`, worked out once by running it against a
 * recording response. They depend on the options alone, so long as no CSP directive is a function
 * of the request (a nonce, say): such options are refused here. (helmet also removes
 * `X-Powered-By`, which Fastify never sets.)
 */
export function securityHeadersOf(options: HelmetOptions): Readonly<Record<string, string>> {
  const csp = options.contentSecurityPolicy;
  const directives = typeof csp === 'object' && csp !== null ? Object.values(csp.directives ?? {}) : [];
  if (directives.some((value) => sourcesOf(value).some((source) => typeof source === 'function'))) {
    throw new Error('security headers: a Content-Security-Policy directive that depends on the request cannot be worked out once');
  }
  const headers: Record<string, string> = {};
  const recorder = {
    setHeader(name: string, value: string | number | readonly string[]) {
      headers[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : String(value);
    },
    removeHeader(name: string) {
      delete headers[name.toLowerCase()];
    },
  };
  let failure: unknown;
  helmet(options)({} as IncomingMessage, recorder as unknown as ServerResponse, (error?: unknown) => {
    failure = error;
  });
  if (failure) throw failure;
  return Object.freeze(headers);
}

/**
 * Security headers on every answer. helmet works both sets out once at start (securityHeadersOf),
 * and an answer is given a set in one step:
 *
 * - an onRequest hook, ahead of the rate limit's and the authentication's (configureApp adds it
 *   before them), gives every request API_SECURITY_HEADER_OPTIONS' set, the strictest, so that even
 *   an answer written without the onSend hooks (Fastify's last-resort error answer) carries it;
 * - at onSend, a JSON answer gets `Cache-Control: no-store` (a route's own Cache-Control stays on a
 *   success; an error is never stored), and anything else SECURITY_HEADER_OPTIONS' set, which
 *   replaces the API set's policy with the pages' and adds what only HTML documents heed.
 *
 * (@fastify/helmet builds helmet's middleware anew for every request, parsing the policy each time,
 * and sets the headers one `setHeader` at a time: on the REST path that was a fifth of the
 * service's CPU per request; see docs/BENCHMARKS.md.)
 */
export function useSecurityHeaders(app: NestFastifyApplication): void {
  const page = securityHeadersOf(SECURITY_HEADER_OPTIONS);
  const api = securityHeadersOf(API_SECURITY_HEADER_OPTIONS);
  const fastify = app.getHttpAdapter().getInstance();
  fastify.addHook('onRequest', (_request, reply, done) => {
    reply.headers(api);
    done();
  });
  fastify.addHook('onSend', (_request, reply, payload, done) => {
    const type = reply.getHeader('content-type');
    if (typeof type === 'string' && JSON_MEDIA.test(type)) {
      if (reply.statusCode >= 400 || !reply.hasHeader('cache-control')) reply.header('cache-control', API_CACHE_CONTROL);
    } else {
      reply.headers(page);
    }
    done(null, payload);
  });
}

/**
 * What Node's HTTP server would answer by itself, with an empty body and none of the service's
 * headers, is answered by the service:
 *
 * - an HTTP/1.1 request without `Host` (RFC 9112 asks for a 400): Node's own check is off
 *   (`requireHostHeader: false` in createHttpAdapter) and this hook, an early one, answers it
 *   VALIDATION_FAILED in the service's error body, with its X-Request-Id and the security headers;
 * - an `Expect` other than `100-continue`: Node would answer 417 before any hook ran (no token
 *   asked, nothing counted). RFC 9110 lets a server ignore an expectation it does not know; the
 *   request goes on as if the header were not there, through every hook and route.
 */
export function useHttpRequirements(app: NestFastifyApplication): void {
  const fastify = app.getHttpAdapter().getInstance();
  fastify.addHook('onRequest', (request, reply, done) => {
    if (request.headers.host !== undefined || request.raw.httpVersion !== '1.1') return done();
    // Answered here: a callback hook that sends its reply does not call done().
    void reply.code(400).send(toErrorBody(new ValidationFailedError('an HTTP/1.1 request names its Host', { field: 'host' })));
  });
  const server = fastify.server;
  server.on('checkExpectation', (req: IncomingMessage, res: ServerResponse) => server.emit('request', req, res));
}

/** Methods that write nothing: still served while the instance shuts down. */
const READS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Once the instance began to shut down (the engine refuses new events from SIGTERM on), every
 * request that may write is answered 503 DEPENDENCY_UNAVAILABLE in the service's body: retry on
 * another instance. The engine refuses its own acts (events, forced moves, migrations, and the
 * operator API's pauses, resumes, redrives, discards), and this refuses the rest, a passenger's
 * PUT say, which would otherwise run while the connections they need close. Reads are answered
 * until the server has closed.
 */
export function useShutdownRefusal(app: NestFastifyApplication, closing: () => boolean): void {
  const fastify = app.getHttpAdapter().getInstance();
  fastify.addHook('onRequest', (request, reply, done) => {
    if (READS.has(request.method) || !closing()) return done();
    void reply.code(503).send(toErrorBody(new DependencyUnavailableError('order-service (this instance is shutting down; retry on another)')));
  });
}

const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;

/**
 * A request the router found no route for, on a path that has routes for other methods, is
 * METHOD_NOT_ALLOWED (405) with `Allow` listing them, rather than NOT_FOUND: the client learns that
 * the path is right and the method wrong. Register it after the authentication hook: a caller
 * without a token learns nothing of the routes.
 */
export function useMethodNotAllowed(app: NestFastifyApplication): void {
  const fastify = app.getHttpAdapter().getInstance();
  fastify.addHook('preParsing', async (request, reply) => {
    if (!request.is404) return;
    const path = request.url.split('?')[0];
    const allow = METHODS.filter((method) => method !== request.method && fastify.findRoute({ method, url: path }) !== null);
    if (allow.length === 0) return;
    const body = toErrorBody(new MethodNotAllowedError(request.method, path, allow));
    return reply.code(body.statusCode).header('Allow', allow.join(', ')).send(body);
  });
}
