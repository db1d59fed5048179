import { RequestMethod } from '@nestjs/common';
import { transitionLogFields } from '@order-fsm/core';
import type { Params } from 'nestjs-pino';
import type { ServiceConfig } from '../config/service-config.js';

const LEVEL_RANK: Record<ServiceConfig['logLevel'], number> = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60, silent: 70 };

/**
 * Structured JSON logs (nestjs-pino): a line per request with its id, status and time, and every line
 * written while an event is handled (by the engine, a processor, a checker, a plugin) carries the
 * order id, the event, the request id, the source and the processor, whether the event came through
 * REST, the worker or a timer.
 */

export function loggerParams(config: ServiceConfig): Params {
  const requestLines = LEVEL_RANK[config.logLevel] <= LEVEL_RANK.info;
  return {
    // Every route, the Fastify way (nestjs-pino's default pattern matches nothing under Fastify), while
    // request lines are on. Above `info` no route gets the request logger at all: its per-request work
    // (a child logger, a request id, a scope) is a measurable part of the REST path's CPU
    // (docs/BENCHMARKS.md), and lines about a transition still carry its fields through the mixin.
    forRoutes: requestLines ? [{ path: '{*splat}', method: RequestMethod.ALL }] : [],
    pinoHttp: {
      level: config.logLevel,
      mixin: () => transitionLogFields() ?? {},
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
      customLogLevel: (_req, res, error) => (error || res.statusCode >= 500 ? 'error' : res.statusCode >= 400 ? 'warn' : 'info'),
      // A line per request from `info` down. Above it (LOG_LEVEL=warn or error) the request lines are
      // off altogether: pino-http's per-request work costs about a quarter of the REST throughput on
      // two cores even when the line is filtered out (docs/BENCHMARKS.md). Faults are still logged,
      // with their stack, by the exception filter. Health checks and scrapes are never logged.
      autoLogging: requestLines && { ignore: (req) => req.url === '/health' || req.url === '/metrics' },
    },
  };
}
