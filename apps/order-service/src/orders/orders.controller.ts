import { Body, Controller, Get, HttpCode, Param, Post } from '@nestjs/common';
import { OrderFsmEngine, OrderNotFoundError } from '@order-fsm/core';
import { IdPipe } from './id.pipe.js';
import { CreateOrderDto, SendEventDto } from './order.dto.js';
import { toLogView, toOrderView, toTransitionView } from './order-views.js';

@Controller('orders')
export class OrdersController {
  constructor(private readonly engine: OrderFsmEngine) {}

  @Post()
  @HttpCode(201)
  async create(@Body() dto: CreateOrderDto) {
    const outcome = await this.engine.createOrder({
      requestId: dto.requestId,
      bizCode: dto.bizCode,
      sceneId: dto.sceneId,
      payload: dto.payload,
    });
    return toTransitionView(outcome);
  }

  @Post(':orderId/events')
  @HttpCode(200)
  async sendEvent(@Param('orderId', IdPipe) orderId: string, @Body() dto: SendEventDto) {
    const outcome = await this.engine.sendEvent({
      eventType: dto.event,
      orderId,
      requestId: dto.requestId,
      orderState: dto.expectedState,
      payload: dto.payload ?? {},
    });
    return toTransitionView(outcome);
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
