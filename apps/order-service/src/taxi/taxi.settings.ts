/** What the taxi processors read from the service's configuration. */
export interface TaxiSettings {
  readonly acceptTimeoutMs: number;
  readonly paymentTimeoutMs: number;
}

export const TAXI_SETTINGS = Symbol('taxi:settings');
