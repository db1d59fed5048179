// The machine the guide's samples use: a parcel from booking to delivery. The samples in docs/*.md
// import it as './examples/parcel.js'; the test that compiles them compiles this file with them.
import { defineMachine, type MachineTypes, type StateOf } from '@order-fsm/core';

export const parcelMachine = defineMachine({
  name: 'parcel',
  initial: 'NEW',
  states: {
    BOOKED: { description: 'waiting for payment; expires after a day' },
    PAID: { description: 'the label prints by itself', automatic: { event: 'PRINT_LABEL', stuckAfterMs: 60_000 } },
    LABELLED: {},
    IN_TRANSIT: {},
    DELIVERED: { final: true },
    CANCELLED: { final: true },
  },
  transitions: [
    { from: 'NEW', event: 'BOOK', to: 'BOOKED' },
    { from: 'BOOKED', event: 'PAY', to: 'PAID' },
    { from: 'PAID', event: 'PRINT_LABEL', to: 'LABELLED' },
    { from: 'LABELLED', event: 'PICK_UP', to: 'IN_TRANSIT' },
    { from: 'IN_TRANSIT', event: 'DELIVER', to: 'DELIVERED' },
    { from: ['BOOKED', 'PAID'], event: 'CANCEL', to: 'CANCELLED' },
    { from: 'BOOKED', event: 'EXPIRE', to: 'CANCELLED', timer: true },
  ],
});

export type ParcelState = StateOf<typeof parcelMachine>;

/** What a parcel order keeps in its data. */
export interface ParcelData {
  weightKg?: number;
  priceCents?: number;
  insuranceCents?: number;
  customerId?: string;
  paidWith?: string;
  label?: string;
}

/** What every parcel processor works with: the machine's states and events, and the order's data. */
export type ParcelTypes = MachineTypes<typeof parcelMachine> & { data: ParcelData };
