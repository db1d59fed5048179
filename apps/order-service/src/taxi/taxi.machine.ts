import { defineMachine, type MachineTypes, type StateOf } from '@order-fsm/core';
import { OrderEvent as E, OrderState as S, SceneId, type TaxiOrderData } from './taxi.model.js';

export interface TaxiMachineOptions {
  /** How long an ENTERPRISE order may wait in an automatic state before its work is queued again. */
  autoStuckAfterMs?: number;
  /** How long a payment that arrives before the fee is confirmed is held. Default 10 minutes. */
  paymentHoldMs?: number;
}

/** The taxi machine as data: every state and every transition the service may ever apply. */
export function taxiMachineSpec({ autoStuckAfterMs = 60_000, paymentHoldMs = 600_000 }: TaxiMachineOptions = {}) {
  return {
    name: 'taxi',
    initial: S.INIT,
    states: {
      [S.CREATED]: { description: 'waiting for a driver; cancelled by the system if nobody accepts in time' },
      [S.ACCEPTED]: { description: 'a driver is on the way' },
      [S.ARRIVED]: { description: 'the driver is at the pickup' },
      [S.IN_TRIP]: {},
      [S.TRIP_ENDED]: {},
      [S.FEE_CONFIRMED]: {
        description: 'waiting for payment; ENTERPRISE orders pay from the company account',
        automatic: { event: E.AUTO_PAY, sceneId: SceneId.ENTERPRISE, stuckAfterMs: autoStuckAfterMs },
      },
      [S.PAID]: {
        description: 'ENTERPRISE orders close by themselves',
        automatic: { event: E.CLOSE, sceneId: SceneId.ENTERPRISE, stuckAfterMs: autoStuckAfterMs },
      },
      [S.CANCEL_PENDING_PAYMENT]: { description: 'cancelled after the driver arrived: the fee is owed, or the order closes unpaid' },
      [S.CLOSED]: { final: true },
      [S.CANCELLED]: { final: true },
    },
    transitions: [
      { from: S.INIT, event: E.CREATE, to: S.CREATED },
      { from: S.CREATED, event: E.ACCEPT, to: S.ACCEPTED },
      { from: S.ACCEPTED, event: E.ARRIVE, to: S.ARRIVED },
      { from: S.ARRIVED, event: E.START_TRIP, to: S.IN_TRIP },
      { from: S.IN_TRIP, event: E.END_TRIP, to: S.TRIP_ENDED },
      { from: S.TRIP_ENDED, event: E.CONFIRM_FEE, to: S.FEE_CONFIRMED },
      { from: S.FEE_CONFIRMED, event: E.PAY, to: S.PAID },
      { from: S.FEE_CONFIRMED, event: E.AUTO_PAY, to: S.PAID },
      { from: S.PAID, event: E.CLOSE, to: S.CLOSED },
      { from: [S.CREATED, S.ACCEPTED], event: E.CANCEL, to: S.CANCELLED },
      { from: S.ARRIVED, event: E.CANCEL, to: [S.CANCELLED, S.CANCEL_PENDING_PAYMENT] },
      { from: S.CANCEL_PENDING_PAYMENT, event: E.PAY, to: S.CANCELLED },
      { from: S.CREATED, event: E.ACCEPT_TIMEOUT, to: S.CANCELLED, timer: true },
      { from: S.CANCEL_PENDING_PAYMENT, event: E.PAYMENT_TIMEOUT, to: S.CLOSED, timer: true },
    ],
    // Who sends each event: the passenger and driver apps (`client`), the payment service
    // (`payment`), or the service itself (`system`: its timers and its worker).
    events: {
      [E.CREATE]: { sentBy: 'client' },
      [E.ACCEPT]: { sentBy: 'client' },
      // A driver's app that sends "arrived" twice (a retry with a new request id, a second tap) is
      // answered 200 and the second arrival recorded, not refused.
      [E.ARRIVE]: { sentBy: 'client', late: { [S.ARRIVED]: 'ignore', [S.IN_TRIP]: 'ignore' } },
      [E.START_TRIP]: { sentBy: 'client' },
      [E.END_TRIP]: { sentBy: 'client' },
      [E.CONFIRM_FEE]: { sentBy: 'client' },
      [E.CANCEL]: { sentBy: 'client' },
      [E.PAY]: {
        sentBy: 'payment',
        description: 'the payment service reports a payment it took',
        late: {
          // The payment raced the driver's fee confirmation: it applies once the fee is confirmed.
          [S.TRIP_ENDED]: { hold: { forMs: paymentHoldMs } },
          // Money taken for a ride that was already paid, closed unpaid or cancelled is given back.
          [S.PAID]: 'compensate',
          [S.CLOSED]: 'compensate',
          [S.CANCELLED]: 'compensate',
        },
      },
      [E.AUTO_PAY]: { sentBy: 'system', description: 'an ENTERPRISE ride pays from the company account' },
      // Standard rides are closed by the app; ENTERPRISE rides close by themselves, and there, being
      // PAID's automatic work, CLOSE is the system's alone.
      [E.CLOSE]: { sentBy: ['client', 'system'] },
      [E.ACCEPT_TIMEOUT]: { sentBy: 'system' },
      [E.PAYMENT_TIMEOUT]: { sentBy: 'system' },
    },
  } as const;
}

export const createTaxiMachine = (options?: TaxiMachineOptions) => defineMachine(taxiMachineSpec(options));
export const taxiMachine = createTaxiMachine();
export type TaxiState = StateOf<typeof taxiMachine>;

/**
 * What every taxi processor, checker and plugin works with: the machine's states and events, and the
 * order's data. A processor adds its payload and result: `TaxiTypes & { payload: PayPayload }`.
 */
export type TaxiTypes = MachineTypes<typeof taxiMachine> & { data: TaxiOrderData };
