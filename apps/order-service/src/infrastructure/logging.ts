import type { IncomingMessage, ServerResponse } from 'node:http';
import { type CallHandler, type ExecutionContext, Injectable, type NestInterceptor, RequestMethod } from '@nestjs/common';
import { transitionLogFields } from '@order-fsm/core';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Params } from 'nestjs-pino';
import type { DestinationStream } from 'pino';
import { PinoPretty } from 'pino-pretty';
import { type Observable, tap } from 'rxjs';
import type { ServiceConfig } from '../config/service-config.js';
import { isId } from '../ids.js';
import { requestIdOf } from './request-id.js';

const LEVEL_RANK: Record<ServiceConfig['logLevel'], number> = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60, silent: 70 };

/** Whether a line per request is written (from `info` down) and a request logger bound to every route. */
export const requestLinesOn = (config: Pick<ServiceConfig, 'logLevel'>): boolean => LEVEL_RANK[config.logLevel] <= LEVEL_RANK.info;

/** Probes and scrapes: asked every few seconds, by machines, and never logged. */
const PROBES = new Set(['/health', '/health/ready', '/metrics']);

/**
 * The request's path. Under Fastify the logger is a Nest middleware, and @fastify/middie strips the
 * path it matched from `req.url` before a middleware runs: the path as sent is `originalUrl`.
 */
const pathOf = (req: IncomingMessage & { originalUrl?: string }): string => {
  const url = req.originalUrl ?? req.url ?? '';
  const query = url.indexOf('?');
  return query === -1 ? url : url.slice(0, query);
};

/**
 * Where the lines go: stdout, as JSON, or through pino-pretty (synchronously, so that the last lines
 * before an exit are written) as one readable line per entry, coloured when stdout is a terminal.
 * Undefined is pino's own stdout.
 */
export function logDestination(config: Pick<ServiceConfig, 'logFormat'>): DestinationStream | undefined {
  if (config.logFormat === 'json') return undefined;
  return PinoPretty({
    sync: true,
    translateTime: 'SYS:HH:MM:ss.l',
    ignore: 'pid,hostname,context',
    messageFormat: '{if context}[{context}] {end}{msg}',
  });
}

/** What the request's own line says besides its status: the order it concerned, and why it was refused. */
export interface RequestLogNotes {
  orderId?: string;
  /** The event's requestId (its idempotency key). */
  requestId?: string;
  /** The error code of a refusal, and its message. */
  code?: string;
  reason?: string;
}

const NOTES = Symbol('order-service:request-log-notes');
type Noted = ServerResponse & { [NOTES]?: RequestLogNotes };

/** Adds to what the request's line will say (its line is written once the answer has gone out). */
export function noteRequest(response: ServerResponse, notes: RequestLogNotes): void {
  const noted = ((response as Noted)[NOTES] ??= {});
  for (const [key, value] of Object.entries(notes) as [keyof RequestLogNotes, string | undefined][]) if (value !== undefined) noted[key] = value;
}

/**
 * While request lines are on, tells each refusal's line why: the code and message of the error body
 * the request was answered with, whoever answered it (the exception filters, the authentication
 * hook, the rate limit). Only an answer of 400 or more is read, and only its body.
 */
export function noteRefusals(app: NestFastifyApplication): void {
  app
    .getHttpAdapter()
    .getInstance()
    .addHook('onSend', (_request, reply, payload, done) => {
      if (reply.statusCode >= 400 && typeof payload === 'string' && payload.startsWith('{')) {
        try {
          const { code, message } = JSON.parse(payload) as { code?: unknown; message?: unknown };
          if (typeof code === 'string') noteRequest(reply.raw, { code, reason: typeof message === 'string' ? message : undefined });
        } catch {
          // Not an error body: the line has its status.
        }
      }
      done(null, payload);
    });
}

/**
 * Structured logs (nestjs-pino): a line per request, with its id (`req.id`), caller, status and time,
 * and, for a refusal, its code and message; every line written during a request carries the request's
 * id (`reqId`), and every line written while an event is handled (by the engine, a processor, a
 * checker, a plugin) the order id, the event, its requestId, the source, the caller and the processor,
 * whether the event came through REST, the worker or a timer.
 */
export function loggerParams(config: ServiceConfig, destination: DestinationStream | undefined = logDestination(config)): Params {
  const requestLines = requestLinesOn(config);
  const options: NonNullable<Exclude<Params['pinoHttp'], DestinationStream | unknown[]>> = {
    level: config.logLevel,
    mixin: () => transitionLogFields() ?? {},
    // The id Fastify gave the request (the caller's X-Request-Id, a traceparent's trace id, or a new one).
    genReqId: (req) => req.id ?? requestIdOf(req.headers),
    // The lines written during a request carry its id alone (`reqId`); its own line has method, URL and status too.
    quietReqLogger: true,
    // The request line names its caller (the authentication hook keeps it on the raw request).
    customProps: (req) => {
      const caller = (req as { caller?: { name: string } }).caller;
      return caller ? { caller: caller.name } : {};
    },
    // The request line keeps what an operator needs, not every header.
    serializers: {
      req: (req: { id: unknown; method: string; url: string }) => ({ id: req.id, method: req.method, url: req.url }),
      res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
    },
    // A refusal (4xx) is an answer, not a fault: its line is at info, with its code and message. A 5xx
    // is at error (the exception filter logs its stack).
    customLogLevel: (_req, res, error) => (error || res.statusCode >= 500 ? 'error' : 'info'),
    customSuccessMessage: (_req, res) => ((res as Noted)[NOTES]?.code ? 'request refused' : 'request completed'),
    customSuccessObject: (_req, res, line) => ({ ...line, ...(res as Noted)[NOTES] }),
    customErrorObject: (_req, res, _error, line) => ({ ...line, ...(res as Noted)[NOTES] }),
    // A line per request from `info` down. Above it (LOG_LEVEL=warn or error) the request lines are
    // off altogether: pino-http's per-request work costs about a quarter of the REST throughput on
    // two cores even when the line is filtered out (docs/BENCHMARKS.md). Faults are still logged,
    // with their stack, by the exception filter. Probes and scrapes are never logged.
    autoLogging: requestLines && { ignore: (req) => PROBES.has(pathOf(req)) },
  };
  return {
    // Every route, the Fastify way (nestjs-pino's default pattern matches nothing under Fastify), while
    // request lines are on. Above `info` no route gets the request logger at all: its per-request work
    // (a child logger, a request id, a scope) is a measurable part of the REST path's CPU
    // (docs/BENCHMARKS.md), and lines about a transition still carry its fields through the mixin.
    forRoutes: requestLines ? [{ path: '{*splat}', method: RequestMethod.ALL }] : [],
    pinoHttp: destination ? [options, destination] : options,
  };
}

/**
 * Bound only while request lines are on (see requestLinesOn): notes the order a request concerns and
 * its event's requestId for the request's line, as the route has them, or, for a new order, as its
 * answer has it (a replayed create answers with the order it created the first time).
 */
@Injectable()
export class RequestLogInterceptor implements NestInterceptor {
  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const http = context.switchToHttp();
    const request = http.getRequest<FastifyRequest>();
    const response = http.getResponse<FastifyReply>().raw;
    const orderId = (request.params as { orderId?: unknown } | undefined)?.orderId;
    const requestId = (request.body as { requestId?: unknown } | undefined)?.requestId;
    noteRequest(response, { orderId: isId(orderId) ? orderId : undefined, requestId: isId(requestId) ? requestId : undefined });
    return next.handle().pipe(
      tap((answer) => {
        const answered = (answer as { orderId?: unknown } | undefined)?.orderId;
        if (!isId(orderId) && isId(answered)) noteRequest(response, { orderId: answered });
      }),
    );
  }
}
