import { type ArgumentsHost, Catch } from '@nestjs/common';
import { OrderFsmExceptionFilter } from '@order-fsm/core';
import type { FastifyRequest } from 'fastify';
import { isId } from '../ids.js';

/** order-fsm's exception filter, whose lines say which request, caller and order they are about. */
@Catch()
export class ServiceExceptionFilter extends OrderFsmExceptionFilter {
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
