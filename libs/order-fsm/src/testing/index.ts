// `@order-fsm/core/testing`: your processors under the real engine, with nothing to run.
export { OrderFsmTestbed, type OrderFsmTestbedOptions, type TestbedCreateInput, type TestbedSendOptions } from './order-fsm-testbed.js';
export {
  shadowReplay,
  type IncompleteOrder,
  type ReplayDifference,
  type ReplayDifferenceKind,
  type ReplayedOrder,
  type ReplayReport,
  type ShadowReplayCandidate,
  type ShadowReplayOptions,
} from './shadow-replay.js';
