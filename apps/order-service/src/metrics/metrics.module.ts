import { Controller, Get, Global, Inject, Module, Res } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { Roles } from '../auth/auth.js';
import { ApiErrors } from '../openapi/openapi.js';

export const METRICS_REGISTRY = Symbol('taxi:metrics-registry');

/** Prometheus text format: order-fsm's metrics (see PrometheusOrderFsmMetrics) and the process's own. */
@ApiTags('operations')
@Roles('operator')
@Controller('metrics')
export class MetricsController {
  constructor(@Inject(METRICS_REGISTRY) private readonly registry: Registry) {}

  @Get()
  @ApiOperation({ summary: 'Prometheus metrics: events by outcome, latency, lock waits, outbox backlog and lag, worker verdicts' })
  @ApiOkResponse({ description: 'The metrics', content: { 'text/plain; version=0.0.4; charset=utf-8': { schema: { type: 'string' } } } })
  @ApiErrors('FORBIDDEN')
  async metrics(@Res({ passthrough: true }) response: FastifyReply): Promise<string> {
    response.type(this.registry.contentType);
    return this.registry.metrics();
  }
}

/** One registry per application (each test app too), so that two apps in a process never share series. */
@Global()
@Module({
  providers: [
    {
      provide: METRICS_REGISTRY,
      useFactory: () => {
        const registry = new Registry();
        collectDefaultMetrics({ register: registry });
        return registry;
      },
    },
  ],
  controllers: [MetricsController],
  exports: [METRICS_REGISTRY],
})
export class MetricsModule {}
