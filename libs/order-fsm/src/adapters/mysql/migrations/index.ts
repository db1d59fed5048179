import { OrderFsmSchema1763856000000 } from './1763856000000-order-fsm-schema.js';
import { OrderFsmReliability1763856000002 } from './1763856000002-order-fsm-reliability.js';
import { OrderFsmCallers1764720000000 } from './1764720000000-order-fsm-callers.js';
import { OrderFsmOperations1796300000000 } from './1796300000000-order-fsm-operations.js';
import { OrderFsmWorkAttempts1796400000000 } from './1796400000000-order-fsm-work-attempts.js';
import { OrderFsmMachineVersions1796500000000 } from './1796500000000-order-fsm-machine-versions.js';
import { OrderFsmLateEventCount1796600000000 } from './1796600000000-order-fsm-late-event-count.js';
import { OrderFsmTraceContext1796700000000 } from './1796700000000-order-fsm-trace-context.js';

export const ORDER_FSM_MIGRATIONS = [
  OrderFsmSchema1763856000000,
  OrderFsmReliability1763856000002,
  OrderFsmCallers1764720000000,
  OrderFsmOperations1796300000000,
  OrderFsmWorkAttempts1796400000000,
  OrderFsmMachineVersions1796500000000,
  OrderFsmLateEventCount1796600000000,
  OrderFsmTraceContext1796700000000,
] as const;
