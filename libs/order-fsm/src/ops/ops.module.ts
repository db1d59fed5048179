import { Module } from '@nestjs/common';
import { OrderFsmOpsController } from './ops.controller.js';
import { OpsGuard } from './ops.guard.js';
import { ConfigurableOpsModule, OPS_MODULE_OPTIONS, OPS_OPTIONS, resolveOpsOptions } from './ops.options.js';
import { OrderFsmOps } from './ops.service.js';

/**
 * The operator API (`/ops/...`), mounted by an order service behind its own callers and roles:
 *
 * ```ts
 * OrderFsmOpsModule.forRoot({ callerOf: (request) => (request as { caller?: Caller }).caller, roles: ['operator'] })
 * ```
 *
 * It uses the engine, the store and the options of OrderFsmModule, which must be global
 * (`isGlobal: true`) or imported alongside. The store must implement OpsStore, as the SQL stores do.
 */
@Module({
  controllers: [OrderFsmOpsController],
  providers: [{ provide: OPS_OPTIONS, useFactory: resolveOpsOptions, inject: [OPS_MODULE_OPTIONS] }, OpsGuard, OrderFsmOps],
  exports: [OrderFsmOps, OpsGuard, OPS_OPTIONS],
})
export class OrderFsmOpsModule extends ConfigurableOpsModule {}
