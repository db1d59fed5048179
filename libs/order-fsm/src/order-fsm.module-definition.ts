import { ConfigurableModuleBuilder } from '@nestjs/common';
import type { OrderFsmModuleOptions } from './order-fsm.options.js';

export const {
  ConfigurableModuleClass: ConfigurableOrderFsmModule,
  MODULE_OPTIONS_TOKEN: ORDER_FSM_MODULE_OPTIONS,
  OPTIONS_TYPE: ORDER_FSM_OPTIONS_TYPE,
  ASYNC_OPTIONS_TYPE: ORDER_FSM_ASYNC_OPTIONS_TYPE,
} = new ConfigurableModuleBuilder<OrderFsmModuleOptions>({ moduleName: 'OrderFsm' })
  .setClassMethodName('forRoot')
  .setExtras({ isGlobal: false }, (definition, extras) => ({ ...definition, global: extras.isGlobal }))
  .build();
