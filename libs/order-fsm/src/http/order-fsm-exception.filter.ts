import { ArgumentsHost, Catch, ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import type { Response } from 'express';
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
  413: 'PAYLOAD_TOO_LARGE',
  415: 'UNSUPPORTED_MEDIA_TYPE',
};

/** Turns any error into `{ statusCode, code, message, details? }`; never a stack trace. */
export function toErrorBody(error: unknown): ErrorBody {
  if (error instanceof OrderFsmError) {
    return { statusCode: error.httpStatus, code: error.code, message: error.message, ...(error.details && { details: error.details }) };
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

/** The REST face of order-fsm errors: register it globally (APP_FILTER) in the service. */
@Catch()
export class OrderFsmExceptionFilter implements ExceptionFilter {
  private readonly logger = new Logger('OrderFsmExceptionFilter');

  catch(error: unknown, host: ArgumentsHost): void {
    const body = toErrorBody(error);
    if (body.statusCode === 503) this.logger.warn(`${body.message}: ${(error as Error).cause ?? ''}`);
    else if (body.statusCode >= 500) this.logger.error(error instanceof Error ? error.stack ?? error.message : String(error));
    const response = host.switchToHttp().getResponse<Response>();
    response.status(body.statusCode).json(body);
  }
}
