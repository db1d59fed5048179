// Candidates with a planted difference from the taxi service's own machine, for test/replay.e2e-spec.ts.
import { Injectable } from '@nestjs/common';
import { defineMachine, OrderProcessor, ServiceResult } from '@order-fsm/core';
import type { ShadowReplayCandidate } from '@order-fsm/core/testing';
import { DriverParamChecker } from '../../apps/order-service/src/taxi/checkers/param-checkers.js';
import { AcceptOrderProcessor } from '../../apps/order-service/src/taxi/processors/ride.processors.js';
import { CancelProcessor } from '../../apps/order-service/src/taxi/processors/settle.processors.js';
import { taxiCandidate } from '../../apps/order-service/src/taxi/replay-candidate.js';
import { type TaxiState, taxiMachines, taxiMachineSpec } from '../../apps/order-service/src/taxi/taxi.machine.js';
import { OrderEvent as E, OrderState as S } from '../../apps/order-service/src/taxi/taxi.model.js';

/** The driver the checker candidate refuses. */
export const BANNED_DRIVER = 'd-banned';

@Injectable()
class BannedDriverChecker extends DriverParamChecker {
  override check(ctx: Parameters<DriverParamChecker['check']>[0]): ServiceResult {
    return ctx.payload?.driverId === BANNED_DRIVER ? ServiceResult.fail('DRIVER_BANNED', `driver ${BANNED_DRIVER} may take no rides`) : super.check(ctx);
  }
}

/** ACCEPT's checker refuses one driver: the orders that driver accepted are refused at ACCEPT. */
export const bannedDriverCandidate = (): ShadowReplayCandidate => taxiCandidate({ overrides: [{ provide: DriverParamChecker, useClass: BannedDriverChecker }] });

@OrderProcessor({ state: S.CREATED, event: E.ACCEPT })
class AcceptOrderProcessorV2 extends AcceptOrderProcessor {}

/** ACCEPT decided by another processor, to the same state. */
export const renamedAcceptCandidate = (): ShadowReplayCandidate =>
  taxiCandidate({ overrides: [{ provide: AcceptOrderProcessor, useClass: AcceptOrderProcessorV2 }] });

const spec = taxiMachineSpec();
/** A cancellation once a driver accepted owes the fee: ACCEPTED may CANCEL to CANCEL_PENDING_PAYMENT too. */
const feeOnceAcceptedMachine = defineMachine({
  ...spec,
  transitions: [
    ...spec.transitions.filter((t) => !(t.event === E.CANCEL && Array.isArray(t.from))),
    { from: S.CREATED, event: E.CANCEL, to: S.CANCELLED },
    { from: S.ACCEPTED, event: E.CANCEL, to: [S.CANCELLED, S.CANCEL_PENDING_PAYMENT] },
  ],
});

@OrderProcessor({ state: [S.CREATED, S.ACCEPTED, S.ARRIVED], event: E.CANCEL })
class FeeOnceAcceptedCancelProcessor extends CancelProcessor {
  override getNextState(ctx: Parameters<CancelProcessor['getNextState']>[0]): TaxiState {
    return ctx.order.state === S.ACCEPTED ? S.CANCEL_PENDING_PAYMENT : super.getNextState(ctx);
  }
}

/** CANCEL from ACCEPTED goes elsewhere. */
export const feeOnceAcceptedCandidate = (): ShadowReplayCandidate =>
  taxiCandidate({ ...taxiMachines(feeOnceAcceptedMachine), overrides: [{ provide: CancelProcessor, useClass: FeeOnceAcceptedCancelProcessor }] });


const noCancelOnceAcceptedMachine = defineMachine({
  ...spec,
  transitions: [...spec.transitions.filter((t) => !(t.event === E.CANCEL && Array.isArray(t.from))), { from: S.CREATED, event: E.CANCEL, to: S.CANCELLED }],
});

@OrderProcessor({ state: [S.CREATED, S.ARRIVED], event: E.CANCEL })
class NoCancelOnceAcceptedProcessor extends CancelProcessor {}

/** Once a driver accepted, the ride cannot be cancelled until the driver arrives: no processor takes CANCEL in ACCEPTED. */
export const noCancelOnceAcceptedCandidate = (): ShadowReplayCandidate =>
  taxiCandidate({ ...taxiMachines(noCancelOnceAcceptedMachine), overrides: [{ provide: CancelProcessor, useClass: NoCancelOnceAcceptedProcessor }] });
