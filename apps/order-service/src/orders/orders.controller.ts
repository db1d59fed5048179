import { Body, Controller, Get, HttpCode, Param, Post, Res } from '@nestjs/common';
import { OrderFsmEngine, OrderNotFoundError, type TransitionOutcome } from '@order-fsm/core';
import type { FastifyReply } from 'fastify';
import { ApiAcceptedResponse, ApiHeader, ApiOkResponse, ApiCreatedResponse, ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import { type AuthenticatedCaller, CurrentCaller } from '../auth/auth.js';
import { ApiErrors, BODY_ERRORS, COMMON_ERRORS } from '../openapi/openapi.js';
import { IdPipe } from './id.pipe.js';
import { OrderViewDto, TransitionLogDto, TransitionViewDto } from './order-api.dto.js';
import { CreateOrderDto, SendEventDto } from './order.dto.js';
import { toLogView, toOrderView, toTransitionView } from './order-views.js';

/**
 * A replay answers what the first request answered, with the same status, and says so. A late event
 * the machine holds is 202 Accepted: it applies when the order reaches a state that takes it.
 */
function answer(outcome: TransitionOutcome, response: FastifyReply) {
  if (outcome.replayed) response.header('Idempotent-Replayed', 'true');
  if (outcome.late?.status === 'held') response.status(202);
  return toTransitionView(outcome);
}

const REPLAYED = { name: 'Idempotent-Replayed', description: '`true` when this is the stored answer to a requestId already applied' };

@ApiTags('orders')
@ApiErrors(...COMMON_ERRORS)
@Controller('orders')
export class OrdersController {
  constructor(private readonly engine: OrderFsmEngine) {}

  @Post()
  @HttpCode(201)
  @ApiOperation({ summary: 'Create an order: the CREATE event of its bizCode@sceneId' })
  @ApiCreatedResponse({ type: TransitionViewDto, headers: { [REPLAYED.name]: { description: REPLAYED.description, schema: { type: 'string' } } } })
  @ApiErrors(...BODY_ERRORS, 'FORBIDDEN', 'CHECK_FAILED', 'IDEMPOTENCY_KEY_REUSED', 'ORDER_BUSY', 'NOT_FOUND_PROCESSOR')
  async create(@Body() dto: CreateOrderDto, @CurrentCaller() caller: AuthenticatedCaller, @Res({ passthrough: true }) response: FastifyReply) {
    const outcome = await this.engine.createOrder({
      caller,
      requestId: dto.requestId,
      bizCode: dto.bizCode,
      sceneId: dto.sceneId,
      payload: dto.payload,
    });
    return answer(outcome, response);
  }

  @Post(':orderId/events')
  @HttpCode(200)
  @ApiOperation({ summary: 'Send an event to an order: one declared transition, applied once per requestId' })
  @ApiParam({ name: 'orderId', example: '6cb09c4f-4e37-43ef-9baa-ee3f1f14fa3f' })
  @ApiOkResponse({ type: TransitionViewDto, headers: { [REPLAYED.name]: { description: REPLAYED.description, schema: { type: 'string' } } } })
  @ApiAcceptedResponse({
    type: TransitionViewDto,
    description: 'The event arrived late and the machine holds it (`late.status` is `held`): it applies when the order reaches a state that takes it, or expires at `late.deadline`',
  })
  @ApiErrors(
    ...BODY_ERRORS,
    'FORBIDDEN',
    'ORDER_NOT_FOUND',
    'ORDER_STATE_NOT_MATCH',
    'NOT_FOUND_PROCESSOR',
    'ORDER_BUSY',
    'VERSION_CONFLICT',
    'MACHINE_VERSION_NOT_SERVED',
    'MACHINE_VERSION_NOT_YET_SERVED',
    // Listed again beside the code above: an operation's 503 replaces the controller's.
    'DEPENDENCY_UNAVAILABLE',
    'CHECK_FAILED',
    'IDEMPOTENCY_KEY_REUSED',
  )
  async sendEvent(
    @Param('orderId', IdPipe) orderId: string,
    @Body() dto: SendEventDto,
    @CurrentCaller() caller: AuthenticatedCaller,
    @Res({ passthrough: true }) response: FastifyReply,
  ) {
    const outcome = await this.engine.sendEvent({
      caller,
      eventType: dto.event,
      orderId,
      requestId: dto.requestId,
      orderState: dto.expectedState,
      payload: dto.payload ?? {},
    });
    return answer(outcome, response);
  }

  @Get(':orderId')
  @ApiOperation({ summary: 'An order as it is now' })
  @ApiOkResponse({ type: OrderViewDto })
  @ApiErrors('ORDER_NOT_FOUND')
  async get(@Param('orderId', IdPipe) orderId: string) {
    const order = await this.engine.findOrder(orderId);
    if (!order) throw new OrderNotFoundError(orderId);
    return toOrderView(order);
  }

  @Get(':orderId/transitions')
  @ApiOperation({ summary: "An order's transition log, oldest first" })
  @ApiOkResponse({ type: TransitionLogDto, isArray: true })
  @ApiErrors('ORDER_NOT_FOUND')
  async transitions(@Param('orderId', IdPipe) orderId: string) {
    const log = await this.engine.listTransitions(orderId);
    if (log.length === 0 && !(await this.engine.findOrder(orderId))) throw new OrderNotFoundError(orderId);
    return log.map(toLogView);
  }
}
