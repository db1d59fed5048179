import { AbstractProcessorPlugin, ProcessorPlugin, type StateContext } from '@order-fsm/core';
import { distanceKm, fareCents } from '../fares.js';
import { OrderEvent, OrderState } from '../taxi.model.js';
import type { TaxiTypes } from '../taxi.machine.js';

/** Every CREATE, whatever the product or scene: the price estimate from the straight-line distance. */
@ProcessorPlugin({ state: OrderState.INIT, event: OrderEvent.CREATE })
export class EstimatedPricePlugin extends AbstractProcessorPlugin<TaxiTypes> {
  execute(ctx: StateContext<TaxiTypes>): void {
    const data = ctx.order.data;
    data.estimatedPriceCents = fareCents(ctx.order.bizCode, distanceKm(data.pickup, data.dropoff));
  }
}
