import { Controller, Get, Inject, Optional, Res, ServiceUnavailableException } from '@nestjs/common';
import { ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { HealthCheckService, HealthIndicatorService, TypeOrmHealthIndicator } from '@nestjs/terminus';
import { ORDER_STORE, type OrderStore } from '@order-fsm/core';
import { AmqpMessaging } from '@order-fsm/core/amqp';
import type { FastifyReply } from 'fastify';
import type { Redis } from 'ioredis';
import { Roles } from '../auth/auth.js';
import { ApiErrors } from '../openapi/openapi.js';
import { MESSAGING, type Messaging } from '../infrastructure/messaging.module.js';
import { REDIS } from '../infrastructure/redis.module.js';

const TIMEOUT_MS = 1_500;

const CHECKS = { type: 'object', additionalProperties: { type: 'object', required: ['status'], properties: { status: { type: 'string', enum: ['up', 'down'] } }, additionalProperties: true } };
/** What @nestjs/terminus answers: each check by name (database, redis, rabbitmq, outbox), up or down, with what it found. */
const READINESS = {
  type: 'object',
  required: ['status', 'details'],
  properties: { status: { type: 'string', enum: ['ok', 'error'] }, info: CHECKS, error: CHECKS, details: CHECKS },
};

/**
 * `GET /health`: liveness, open to anyone, and says nothing else. `GET /health/ready`: each
 * dependency and the outbox backlog (how many status messages wait, and for how long), for operators.
 */
@ApiTags('operations')
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly indicators: HealthIndicatorService,
    private readonly database: TypeOrmHealthIndicator,
    @Inject(MESSAGING) private readonly messaging: Messaging,
    // Absent when the service runs embedded (no Redis): the check is left out.
    @Optional() @Inject(REDIS) private readonly redis: Redis | undefined,
    @Inject(ORDER_STORE) private readonly store: OrderStore,
  ) {}

  @Get()
  @ApiOperation({ summary: 'Liveness: the process serves requests. Open without a token; says nothing of the dependencies' })
  @ApiResponse({ status: 200, description: 'Alive', schema: { type: 'object', required: ['status'], properties: { status: { type: 'string', enum: ['ok'] } } } })
  @ApiErrors('REQUEST_TIMEOUT', 'HEADERS_TOO_LARGE')
  live() {
    return { status: 'ok' };
  }

  @Get('ready')
  @Roles('operator')
  @ApiOperation({ summary: 'Each dependency, and the outbox backlog; 503 when one is down (operators)' })
  @ApiResponse({ status: 200, description: 'Every check is up', schema: READINESS })
  @ApiResponse({ status: 503, description: 'A check is down: which one, and why, in `details`', schema: READINESS })
  @ApiErrors('FORBIDDEN', 'RATE_LIMITED')
  async check(@Res({ passthrough: true }) response: FastifyReply) {
    try {
      return await this.health.check([
        () => this.database.pingCheck('database').withTimeout(TIMEOUT_MS),
        ...(this.redis ? [() => this.indicators.check('redis').attempt(async () => void (await this.redis!.ping())).withTimeout(TIMEOUT_MS)] : []),
        // An in-process queue (embedded) has no connection to lose.
        ...(this.messaging instanceof AmqpMessaging
          ? [
              () => {
                const rabbitmq = this.indicators.check('rabbitmq');
                return this.messaging.isConnected() ? rabbitmq.up() : rabbitmq.down('not connected; status messages wait in the outbox');
              },
            ]
          : []),
        () =>
          this.indicators
            .check('outbox')
            .attempt(async () => {
              const { count, oldestCreatedAt } = await this.store.outboxBacklog();
              return { backlog: count, oldestWaitingMs: oldestCreatedAt ? Date.now() - oldestCreatedAt.getTime() : 0 };
            })
            .withTimeout(TIMEOUT_MS),
      ]);
    } catch (error) {
      if (!(error instanceof ServiceUnavailableException)) throw error;
      response.status(503);
      return error.getResponse();
    }
  }
}
