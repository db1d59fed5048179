import { AbstractProcessorPlugin, ProcessorPlugin, type StateContext } from '@order-fsm/core';
import { distanceKm, fareCents } from '../fares.js';
import { OrderEvent, OrderState, type TaxiOrderData } from '../taxi.model.js';

/** Every CREATE, whatever the product or scene: the price estimate from the straight-line distance. */
@ProcessorPlugin({ state: OrderState.INIT, event: OrderEvent.CREATE })
export class EstimatedPricePlugin extends AbstractProcessorPlugin {
  execute(ctx: StateContext): void {
    const data = ctx.order.data as TaxiOrderData;
    data.estimatedPriceCents = fareCents(ctx.order.bizCode, distanceKm(data.pickup, data.dropoff));
  }
}
