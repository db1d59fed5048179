import { ArgumentsHost, Catch, ExceptionFilter, HttpException, Logger, Optional } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { ERROR_HTTP_STATUS, OrderFsmErrorCode } from '../errors/error-codes.js';
import { OrderFsmError } from '../errors/order-fsm.errors.js';

export interface ErrorBody {
  statusCode: number;
  code: string;
  message: string;
  details?: Record<string, unknown>;
}

const CODE_BY_STATUS: Record<number, OrderFsmErrorCode> = {
  400: 'VALIDATION_FAILED',
  404: 'NOT_FOUND',
  405: 'METHOD_NOT_ALLOWED',
  408: 'REQUEST_TIMEOUT',
  413: 'PAYLOAD_TOO_LARGE',
  415: 'UNSUPPORTED_MEDIA_TYPE',
  429: 'RATE_LIMITED',
  431: 'HEADERS_TOO_LARGE',
};

/**
 * The client went away while its request was still arriving (Node's `aborted`: a body cut off by
 * REQUEST_TIMEOUT_MS, or a client that hung up). Nobody is left to answer, and it is no fault of the
 * server's: not a 500, and nothing to log above debug.
 */
function clientAborted(error: unknown): boolean {
  const e = error as { code?: unknown; message?: unknown } | null;
  return !!e && e.code === 'ECONNRESET' && e.message === 'aborted';
}

/** Turns any error into `{ statusCode, code, message, details? }`; never a stack trace. */
export function toErrorBody(error: unknown): ErrorBody {
  if (clientAborted(error)) return { statusCode: 400, code: 'VALIDATION_FAILED', message: 'the request was cut off before it was complete' };
  if (error instanceof OrderFsmError) {
    return { statusCode: error.httpStatus, code: error.code, message: error.message, ...(error.details && { details: error.details }) };
  }
  const http = error as { statusCode?: unknown; code?: unknown; message?: unknown } | null;
  if (http && typeof http.statusCode === 'number' && http.statusCode >= 400 && http.statusCode < 500 && typeof http.code === 'string' && http.code.startsWith('FST_')) {
    // What the HTTP server refused before any controller ran (Fastify: the media type, the body's
    // size, malformed JSON): the same body as everything else.
    const statusCode = http.statusCode;
    return { statusCode, code: CODE_BY_STATUS[statusCode] ?? `HTTP_${statusCode}`, message: String(http.message ?? 'bad request') };
  }
  if (error instanceof HttpException) {
    const statusCode = error.getStatus();
    const code = CODE_BY_STATUS[statusCode] ?? (statusCode >= 500 ? 'INTERNAL_ERROR' : `HTTP_${statusCode}`);
    const response = error.getResponse();
    const raw = typeof response === 'string' ? response : (response as { message?: unknown }).message;
    const message = statusCode >= 500 ? 'internal error' : Array.isArray(raw) ? raw.join('; ') : String(raw ?? error.message);
    return { statusCode, code, message };
  }
  return { statusCode: ERROR_HTTP_STATUS.INTERNAL_ERROR, code: 'INTERNAL_ERROR', message: 'internal error' };
}

/** Where an error was thrown: its class and its first stack frame, whatever its message says (ids vary). */
function signatureOf(error: unknown): string {
  if (!(error instanceof Error)) return `thrown ${typeof error}`;
  const frame = error.stack?.split('\n').find((line) => line.trimStart().startsWith('at ')) ?? '';
  return `${error.name} ${frame.trim()}`;
}

/**
 * Decides how much of a 500 to log: its stack the first time an error is thrown from a place, and
 * again at most once per `quietMs` (saying how many like it came in between); one short line for the
 * others. A client retrying a request that fails thousands of times a second logs a handful of
 * stacks, not one each.
 */
export class StackLogThrottle {
  private readonly logged = new Map<string, { at: number; since: number }>();

  constructor(
    private readonly quietMs = 60_000,
    /** How many places it remembers; the oldest is forgotten first. */
    private readonly capacity = 256,
    private readonly now: () => number = Date.now,
  ) {}

  describe(error: unknown): string {
    const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    const signature = signatureOf(error);
    const now = this.now();
    const last = this.logged.get(signature);
    if (last && now - last.at < this.quietMs) {
      last.since++;
      return `${text.slice(0, 300)} (its stack was logged ${Math.round((now - last.at) / 1000)} s ago)`;
    }
    this.logged.delete(signature);
    if (this.logged.size >= this.capacity) this.logged.delete(this.logged.keys().next().value!);
    this.logged.set(signature, { at: now, since: 0 });
    const stack = error instanceof Error ? (error.stack ?? text) : text;
    return last?.since ? `${stack}\n(${last.since} more like it since its stack was last logged)` : stack;
  }
}

/**
 * The REST face of order-fsm errors: register it globally (APP_FILTER) in the service. It answers
 * through Nest's HTTP adapter, so it serves Express and Fastify alike.
 */
@Catch()
export class OrderFsmExceptionFilter implements ExceptionFilter {
  private readonly logger = new Logger('OrderFsmExceptionFilter');
  private readonly stacks = new StackLogThrottle();

  constructor(@Optional() private readonly adapterHost?: HttpAdapterHost) {}

  catch(error: unknown, host: ArgumentsHost): void {
    const body = toErrorBody(error);
    if (clientAborted(error)) this.log('debug', body.message, host);
    else if (body.statusCode === 503) this.log('warn', `${body.message}: ${(error as Error).cause ?? ''}`, host);
    else if (body.statusCode >= 500) this.log('error', this.stacks.describe(error), host);
    const response = host.switchToHttp().getResponse<unknown>();
    const adapter = this.adapterHost?.httpAdapter;
    if (adapter) {
      adapter.reply(response, body, body.statusCode);
      return;
    }
    // Created with `new` (useGlobalFilters) rather than by Nest: Express's response, or Fastify's reply.
    const reply = response as { code?(s: number): { send(b: unknown): void }; status(s: number): { json(b: unknown): void } };
    if (typeof reply.code === 'function') reply.code(body.statusCode).send(body);
    else reply.status(body.statusCode).json(body);
  }

  /**
   * What the filter's own lines about a request carry besides their message (none here): a service
   * whose logger takes an object first (nestjs-pino does) names the request, its caller and its order.
   */
  protected logFields(_host: ArgumentsHost): Record<string, unknown> | undefined {
    return undefined;
  }

  private log(level: 'debug' | 'warn' | 'error', text: string, host: ArgumentsHost): void {
    const fields = this.logFields(host);
    if (fields) this.logger[level](fields, text);
    else this.logger[level](text);
  }
}
