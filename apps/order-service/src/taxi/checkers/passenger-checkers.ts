import { Injectable } from '@nestjs/common';
import { type Checker, DependencyUnavailableError, isConnectionError, ServiceResult, type StateContext } from '@order-fsm/core';
import { DataSource } from 'typeorm';
import { passengerHasUnfinishedRide } from '../passenger-rides.js';
import { PassengerActiveRideEntity, PassengerEntity } from '../taxi.entities.js';
import type { CreatePayload } from '../taxi.model.js';

/** CREATE, in parallel: the passenger exists. */
@Injectable()
export class PassengerExistsChecker implements Checker<{ payload: CreatePayload }> {
  readonly order = 1;

  constructor(private readonly dataSource: DataSource) {}

  async check(ctx: StateContext<{ payload: CreatePayload }>): Promise<ServiceResult> {
    const { passengerId } = ctx.payload;
    let exists: boolean;
    try {
      exists = await this.dataSource.getRepository(PassengerEntity).exists({ where: { id: passengerId } });
    } catch (error) {
      throw isConnectionError(error) ? new DependencyUnavailableError('database', error) : error;
    }
    return exists ? ServiceResult.ok() : ServiceResult.fail('PASSENGER_NOT_FOUND', `passenger ${passengerId} does not exist`);
  }
}

/**
 * CREATE, in parallel: the passenger has no other unfinished ride. A fast answer for the usual case;
 * the guarantee is the create's own row, written in its transaction under the passenger's primary key
 * (see CreateOrderProcessor.save()), which also refuses the create that raced this check.
 */
@Injectable()
export class UnfinishedOrderChecker implements Checker<{ payload: CreatePayload }> {
  readonly order = 2;

  constructor(private readonly dataSource: DataSource) {}

  async check(ctx: StateContext<{ payload: CreatePayload }>): Promise<ServiceResult> {
    const { passengerId } = ctx.payload;
    let busy: boolean;
    try {
      busy = await this.dataSource.getRepository(PassengerActiveRideEntity).exists({ where: { passengerId } });
    } catch (error) {
      throw isConnectionError(error) ? new DependencyUnavailableError('database', error) : error;
    }
    return busy ? passengerHasUnfinishedRide(passengerId) : ServiceResult.ok();
  }
}
