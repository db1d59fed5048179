// `@order-fsm/core/testing`: your processors under the real engine, with nothing to run.
export { OrderFsmTestbed, type OrderFsmTestbedOptions, type TestbedCreateInput, type TestbedSendOptions } from './order-fsm-testbed.js';
