import { Body, Controller, Get, HttpCode, Param, Post, Res } from '@nestjs/common';
import { OrderFsmEngine, OrderNotFoundError, type TransitionOutcome } from '@order-fsm/core';
import type { Response } from 'express';
import { IdPipe } from './id.pipe.js';
import { CreateOrderDto, SendEventDto } from './order.dto.js';
import { toLogView, toOrderView, toTransitionView } from './order-views.js';

/** A replay answers what the first request answered, with the same status, and says so. */
function answer(outcome: TransitionOutcome, response: Response) {
  if (outcome.replayed) response.setHeader('Idempotent-Replayed', 'true');
  return toTransitionView(outcome);
}

@Controller('orders')
export class OrdersController {
  constructor(private readonly engine: OrderFsmEngine) {}

  @Post()
  @HttpCode(201)
  async create(@Body() dto: CreateOrderDto, @Res({ passthrough: true }) response: Response) {
    const outcome = await this.engine.createOrder({
      requestId: dto.requestId,
      bizCode: dto.bizCode,
      sceneId: dto.sceneId,
      payload: dto.payload,
    });
    return answer(outcome, response);
  }

  @Post(':orderId/events')
  @HttpCode(200)
  async sendEvent(@Param('orderId', IdPipe) orderId: string, @Body() dto: SendEventDto, @Res({ passthrough: true }) response: Response) {
    const outcome = await this.engine.sendEvent({
      eventType: dto.event,
      orderId,
      requestId: dto.requestId,
      orderState: dto.expectedState,
      payload: dto.payload ?? {},
    });
    return answer(outcome, response);
  }

  @Get(':orderId')
  async get(@Param('orderId', IdPipe) orderId: string) {
    const order = await this.engine.findOrder(orderId);
    if (!order) throw new OrderNotFoundError(orderId);
    return toOrderView(order);
  }

  @Get(':orderId/transitions')
  async transitions(@Param('orderId', IdPipe) orderId: string) {
    const log = await this.engine.listTransitions(orderId);
    if (log.length === 0 && !(await this.engine.findOrder(orderId))) throw new OrderNotFoundError(orderId);
    return log.map(toLogView);
  }
}
