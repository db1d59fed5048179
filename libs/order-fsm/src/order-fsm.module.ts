import { Module } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { CommitSignal } from './engine/commit-signal.js';
import { OrderFsmEngine } from './engine/order-fsm.engine.js';
import { OrderFsmMetadataAccessor } from './registry/order-fsm-metadata.accessor.js';
import { OrderFsmExplorer } from './registry/order-fsm.explorer.js';
import { OrderFsmDiagrams } from './diagram/order-fsm-diagrams.js';
import { ORDER_FSM_OPTIONS, ORDER_LOCK, ORDER_STORE } from './order-fsm.constants.js';
import { ConfigurableOrderFsmModule, ORDER_FSM_MODULE_OPTIONS } from './order-fsm.module-definition.js';
import { type ResolvedOrderFsmOptions, resolveOrderFsmOptions } from './order-fsm.options.js';
import { OutboxRelay } from './workers/outbox-relay.js';
import { ProcessorRegistry } from './registry/processor-registry.js';
import { OrderFsmWorker } from './workers/order-fsm.worker.js';
import { Sweeper } from './workers/sweeper.js';
import { TimerPoller } from './workers/timer-poller.js';
import { HeldEventPoller } from './workers/held-event-poller.js';

/**
 * `OrderFsmModule.forRoot({ store, lock })` or `forRootAsync({ useFactory, inject })`.
 * Each application (each test app too) gets its own registry: no state lives on the module class.
 */
@Module({
  imports: [DiscoveryModule],
  providers: [
    { provide: ORDER_FSM_OPTIONS, useFactory: resolveOrderFsmOptions, inject: [ORDER_FSM_MODULE_OPTIONS] },
    { provide: ORDER_STORE, useFactory: (o: ResolvedOrderFsmOptions) => o.store, inject: [ORDER_FSM_OPTIONS] },
    { provide: ORDER_LOCK, useFactory: (o: ResolvedOrderFsmOptions) => o.lock, inject: [ORDER_FSM_OPTIONS] },
    { provide: ProcessorRegistry, useFactory: () => new ProcessorRegistry() },
    OrderFsmMetadataAccessor,
    OrderFsmExplorer,
    CommitSignal,
    OrderFsmEngine,
    OrderFsmDiagrams,
    OutboxRelay,
    OrderFsmWorker,
    TimerPoller,
    HeldEventPoller,
    Sweeper,
  ],
  exports: [OrderFsmEngine, OrderFsmDiagrams, ProcessorRegistry, CommitSignal, OutboxRelay, OrderFsmWorker, TimerPoller, HeldEventPoller, Sweeper, ORDER_STORE, ORDER_LOCK, ORDER_FSM_OPTIONS],
})
export class OrderFsmModule extends ConfigurableOrderFsmModule {}
