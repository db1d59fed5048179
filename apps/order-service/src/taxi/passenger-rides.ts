import { isUniqueViolation, ServiceResult } from '@order-fsm/core';
import type { EntityManager } from 'typeorm';
import { PassengerActiveRideEntity } from './taxi.entities.js';
import { RIDE_FINISHED_STATES } from './taxi.model.js';

/** What a passenger with a ride not over yet is answered, by the checker or by the unique key. */
export const passengerHasUnfinishedRide = (passengerId: string) =>
  ServiceResult.fail('PASSENGER_HAS_UNFINISHED_ORDER', `passenger ${passengerId} already has an unfinished ride`);

/**
 * Records `orderId` as the passenger's one unfinished ride, in the transaction that creates it (call
 * it from save(), with ctx.manager). False when the passenger has one already: the primary key on the
 * passenger refuses the row while another ride of theirs is unfinished, or is being created in a
 * transaction that then commits.
 */
export async function takePassenger(manager: EntityManager, passengerId: string, orderId: string): Promise<boolean> {
  try {
    await manager.insert(PassengerActiveRideEntity, { passengerId, orderId, createdAt: new Date() });
    return true;
  } catch (error) {
    if (isUniqueViolation(error)) return false;
    throw error;
  }
}

/**
 * Frees the passenger when `nextState` ends the ride, in the transaction that ends it (call it from
 * save(), with ctx.manager). Only this order's row is removed.
 */
export async function freePassengerIfFinished(manager: EntityManager, nextState: string, passengerId: string, orderId: string): Promise<void> {
  if (RIDE_FINISHED_STATES.has(nextState)) await manager.delete(PassengerActiveRideEntity, { passengerId, orderId });
}
