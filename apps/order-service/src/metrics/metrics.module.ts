import { Controller, Get, Global, Inject, Module, Res } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiProduces, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { Roles } from '../auth/auth.js';

export const METRICS_REGISTRY = Symbol('taxi:metrics-registry');

/**
 * Prometheus text format: order-fsm's metrics (see PrometheusOrderFsmMetrics), the HTTP requests
 * (useHttpMetrics) and the process's own. Every series is bounded by the machine, the routes and
 * the declared names, not by the traffic (docs/OPERATIONS.md lists them); `promtool check metrics`
 * passes on it.
 */
@ApiTags('operations')
@Roles('operator')
@Controller('metrics')
export class MetricsController {
  constructor(@Inject(METRICS_REGISTRY) private readonly registry: Registry) {}

  @Get()
  @ApiOperation({ summary: 'Prometheus metrics: events by outcome, transitions, refusals, latency, lock waits by outcome, outbox backlog and lag, worker verdicts, HTTP requests' })
  @ApiProduces('text/plain; version=0.0.4; charset=utf-8')
  @ApiOkResponse({ schema: { type: 'string' } })
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
        // Gauges named like counters (promtool refuses them), each the sum of a gauge it keeps by type:
        // nodejs_active_handles, nodejs_active_requests, nodejs_active_resources.
        for (const name of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']) registry.removeSingleMetric(name);
        return registry;
      },
    },
  ],
  controllers: [MetricsController],
  exports: [METRICS_REGISTRY],
})
export class MetricsModule {}
