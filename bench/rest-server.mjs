// The taxi order service as main.ts builds it, with the bench machine's processors added, for scenario 2.
// Relay and worker are off (RELAY_ENABLED=false, WORKER_ENABLED=false from the parent): like scenario 1,
// it measures the write path, here with HTTP, validation and the exception filter in front of it.
import 'reflect-metadata';
import { Module } from '@nestjs/common';
import { AppModule } from '../dist/apps/order-service/src/app.module.js';
import { createServiceApp } from '../dist/apps/order-service/src/bootstrap.js';
import { loadServiceConfig } from '../dist/apps/order-service/src/config/service-config.js';
import { taxiMachineSpec } from '../dist/apps/order-service/src/taxi/taxi.machine.js';
import { benchMachineSpec, benchProcessors, fsm } from './setup.mjs';

const taxi = taxiMachineSpec();
const machine = fsm.defineMachine({
  ...taxi,
  states: { ...taxi.states, A: {}, B: {} },
  // INIT -CREATE-> A only declares how bench orders begin (they are created by the bench's own engine).
  transitions: [...taxi.transitions, { from: 'INIT', event: 'CREATE', to: 'A' }, ...benchMachineSpec.transitions.filter((t) => t.event === 'FLIP')],
  // The bench's client sends FLIP: the engine checks its role like any other event's.
  events: { ...taxi.events, FLIP: { sentBy: 'client' } },
});
class BenchProcessorsModule {}
Module({ providers: benchProcessors.filter((p) => p.provide === 'bench-flip') })(BenchProcessorsModule);

const config = loadServiceConfig();
const root = AppModule.register(config, { machine });
root.imports.push(BenchProcessorsModule);
const app = await createServiceApp(root, config, { logger: ['error', 'warn'] });
app.enableShutdownHooks();
await app.listen(0, '127.0.0.1');
process.send?.({ port: app.getHttpServer().address().port });
process.on('message', async (message) => {
  if (message !== 'stop') return;
  await app.close();
  process.exit(0);
});
