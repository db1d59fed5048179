import { transitionLogFields } from '@order-fsm/core';
import type { Params } from 'nestjs-pino';
import type { ServiceConfig } from '../config/service-config.js';

/**
 * Structured JSON logs (nestjs-pino): a line per request with its id, status and time, and every line
 * written while an event is handled (by the engine, a processor, a checker, a plugin) carries the
 * order id, the event, the request id, the source and the processor, whether the event came through
 * REST, the worker or a timer.
 */
export function loggerParams(config: ServiceConfig): Params {
  return {
    pinoHttp: {
      level: config.logLevel,
      mixin: () => transitionLogFields() ?? {},
      // The request line keeps what an operator needs, not every header.
      serializers: {
        req: (req: { id: unknown; method: string; url: string }) => ({ id: req.id, method: req.method, url: req.url }),
        res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
      },
      customLogLevel: (_req, res, error) => (error || res.statusCode >= 500 ? 'error' : res.statusCode >= 400 ? 'warn' : 'info'),
      // Health checks and scrapes every few seconds would drown the rest.
      autoLogging: { ignore: (req) => req.url === '/health' || req.url === '/metrics' },
    },
  };
}
