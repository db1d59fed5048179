// The taxi machine as a shadow replay's candidate (`npm run fsm:replay -- --machine <this module>`):
// the service's own machine, processors, checkers and plugins, in a testbed of their own for each
// replayed order. Copy it, change the machine or a processor, and replay real orders against it
// before deploying: docs/replay.md.
import type { ShadowReplayCandidate } from '@order-fsm/core/testing';
import { taxiMachines } from './taxi.machine.js';
import { PassengerActiveRideEntity, PassengerEntity, PaymentEntity } from './taxi.entities.js';
import type { CreatePayload } from './taxi.model.js';
import { TaxiModule } from './taxi.module.js';

export const TAXI_REPLAY_SETTINGS = { acceptTimeoutMs: 300_000, paymentTimeoutMs: 1_800_000 };

/** The candidate's parts: a changed candidate reuses them and replaces what it tries. */
export function taxiCandidate(changes: Partial<ShadowReplayCandidate> = {}): ShadowReplayCandidate {
  return {
    // Every version the service serves: the processors of v1's orders serve v1 (and v2).
    ...taxiMachines(),
    imports: [TaxiModule.register(TAXI_REPLAY_SETTINGS)],
    entities: [PassengerEntity, PaymentEntity, PassengerActiveRideEntity],
    // CREATE's checkers look the passenger up: the passenger existed when the order was created.
    async prepare(order, testbed) {
      const create = order.transitions[0]?.payload as Partial<CreatePayload> | undefined;
      if (typeof create?.passengerId !== 'string') return;
      await testbed.dataSource.getRepository(PassengerEntity).insert({ id: create.passengerId, name: 'replayed', createdAt: new Date() });
    },
    ...changes,
  };
}

export const candidate = taxiCandidate();
export default candidate;
