import { type ArgumentsHost, Catch } from '@nestjs/common';
import { OrderFsmExceptionFilter, toErrorBody } from '@order-fsm/core';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { isId } from '../ids.js';
import { noteRequest } from './logging.js';

/**
 * order-fsm's exception filter, whose lines say which request, caller and order they are about, and
 * which tells the request's own line why a request was refused (its code and message, at info).
 */
@Catch()
export class ServiceExceptionFilter extends OrderFsmExceptionFilter {
  override catch(error: unknown, host: ArgumentsHost): void {
    const { statusCode, code, message } = toErrorBody(error);
    if (statusCode < 500) noteRequest(host.switchToHttp().getResponse<FastifyReply>().raw, { code, reason: message });
    super.catch(error, host);
  }

  protected override logFields(host: ArgumentsHost): Record<string, unknown> {
    const request = host.switchToHttp().getRequest<FastifyRequest>();
    const orderId = (request.params as { orderId?: unknown } | undefined)?.orderId;
    const requestId = (request.body as { requestId?: unknown } | undefined)?.requestId;
    return {
      // The request logger (from LOG_LEVEL=info down) puts `reqId` on every line already.
      ...(!(request.raw as { log?: unknown }).log && { reqId: request.id }),
      ...(request.caller && { caller: request.caller.name }),
      ...(isId(orderId) && { orderId }),
      ...(isId(requestId) && { requestId }),
    };
  }
}
