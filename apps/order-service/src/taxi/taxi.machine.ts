import { defineMachine, defineMigration, type MachineDefinition, type MachineMigration, type MachineTypes, type StateOf } from '@order-fsm/core';
import { OrderEvent as E, OrderState as S, SceneId, type TaxiOrderData } from './taxi.model.js';

export interface TaxiMachineOptions {
  /** How long an ENTERPRISE order may wait in an automatic state before its work is queued again. */
  autoStuckAfterMs?: number;
  /** How long a payment that arrives before the fee is confirmed is held. Default 10 minutes. */
  paymentHoldMs?: number;
  /**
   * Whether a held payment whose hold expires is given back (`onExpiry: 'compensate'`). Default true.
   * Off while instances of a release before it still run (a rolling deploy onto it): their pollers
   * do not fence an expiry against a release.
   */
  paymentHoldRefund?: boolean;
}

/**
 * Version 1 of the taxi machine, as data: the rules the orders created under it keep until they are
 * migrated (TRIP_ENDED -CONFIRM_FEE-> FEE_CONFIRMED, whatever the fee).
 */
export function taxiMachineV1Spec({ autoStuckAfterMs = 60_000, paymentHoldMs = 600_000, paymentHoldRefund = true }: TaxiMachineOptions = {}) {
  return {
    name: 'taxi',
    version: 1,
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
          // The payment raced the driver's fee confirmation: it applies once the fee is confirmed. If the
          // fee is never confirmed in time (or the order goes where no payment applies), the money is given back.
          [S.TRIP_ENDED]: { hold: paymentHoldRefund ? { forMs: paymentHoldMs, onExpiry: 'compensate' as const } : { forMs: paymentHoldMs } },
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

/** v1's fee confirmation, which v2 replaces: the one transition v2 does not keep as it is. */
const isV1FeeConfirmation = (t: { from: string | readonly string[]; event: string }) => t.from === S.TRIP_ENDED && t.event === E.CONFIRM_FEE;

/**
 * The taxi machine as data, version 2, the current one: v1 and a fraud review. A fee above the
 * review threshold (TaxiSettings.fraudReviewAboveCents) goes to FRAUD_REVIEW instead of
 * FEE_CONFIRMED, and an operator approves it (the passenger is asked to pay) or rejects it (the
 * order is cancelled). Every other state, transition and event is v1's.
 */
export function taxiMachineSpec(options: TaxiMachineOptions = {}) {
  const v1 = taxiMachineV1Spec(options);
  const feeReview = [
    { from: S.TRIP_ENDED, event: E.CONFIRM_FEE, to: [S.FEE_CONFIRMED, S.FRAUD_REVIEW] },
    { from: S.FRAUD_REVIEW, event: E.APPROVE_FEE, to: S.FEE_CONFIRMED },
    { from: S.FRAUD_REVIEW, event: E.REJECT_FEE, to: S.CANCELLED },
  ] as const;
  return {
    ...v1,
    version: 2,
    states: {
      ...v1.states,
      [S.FRAUD_REVIEW]: { description: 'the fee is above the review threshold: an operator approves it (the passenger pays) or rejects it (cancelled)' },
    },
    // v1's transitions, its fee confirmation replaced in place by v2's and the review's verdicts.
    transitions: v1.transitions.flatMap<(typeof v1.transitions)[number] | (typeof feeReview)[number]>((t) => (isV1FeeConfirmation(t) ? feeReview : [t])),
    events: {
      ...v1.events,
      [E.APPROVE_FEE]: { sentBy: 'operator', description: 'an operator finds a fee under review fair: the passenger is asked to pay it' },
      [E.REJECT_FEE]: { sentBy: 'operator', description: 'an operator rejects a fee under review: the order is cancelled and nothing is owed' },
    },
  } as const;
}

export const createTaxiMachineV1 = (options?: TaxiMachineOptions) => defineMachine(taxiMachineV1Spec(options));
/** The current taxi machine (v2): new orders follow it. */
export const createTaxiMachine = (options?: TaxiMachineOptions) => defineMachine(taxiMachineSpec(options));
export const taxiMachineV1 = createTaxiMachineV1();
export const taxiMachine = createTaxiMachine();
export type TaxiState = StateOf<typeof taxiMachine>;

/**
 * v1 -> v2: every state of v1 is a state of v2, and means the same there, so each maps to itself
 * and the data is left as it is. Not lazy: orders keep v1's rules (a big fee is confirmed without
 * review) until an operator migrates them, after a dry run (POST /ops/bulk/migrate).
 */
export function taxiMigrationV1toV2(from: MachineDefinition, to: MachineDefinition, { lazy = false }: { lazy?: boolean } = {}): MachineMigration {
  const states = Object.fromEntries(from.stateNames.filter((state) => state !== from.initial).map((state) => [state, state]));
  return defineMigration({ from, to, states, lazy, description: 'v2 adds FRAUD_REVIEW; every v1 state is kept as it is' });
}

/**
 * What the service serves: `current` (default v2) for new orders, v1 for the orders created under
 * it, and the migration between them. A `current` that is v1 serves v1 alone.
 */
export function taxiMachines(current: MachineDefinition = taxiMachine, options?: TaxiMachineOptions): {
  machine: MachineDefinition;
  previousMachines: MachineDefinition[];
  migrations: MachineMigration[];
} {
  if (current.version === 1) return { machine: current, previousMachines: [], migrations: [] };
  const v1 = createTaxiMachineV1(options);
  return { machine: current, previousMachines: [v1], migrations: [taxiMigrationV1toV2(v1, current)] };
}

/**
 * What every taxi processor, checker and plugin works with: the current machine's states and events
 * (v2's, which has every state and event of v1), and the order's data. A processor adds its payload
 * and result: `TaxiTypes & { payload: PayPayload }`.
 */
export type TaxiTypes = MachineTypes<typeof taxiMachine> & { data: TaxiOrderData };
