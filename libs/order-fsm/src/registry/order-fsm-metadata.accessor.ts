import { Injectable } from '@nestjs/common';
import type { RegistrationMetadata } from '../processor/registration.js';
import { LATE_COMPENSATION_METADATA, ORDER_PROCESSOR_METADATA, PROCESSOR_PLUGIN_METADATA } from '../order-fsm.constants.js';

/**
 * The only reader of order-fsm metadata. Own metadata only: a subclass is registered by its own
 * decorator, never by the one it inherits.
 */
@Injectable()
export class OrderFsmMetadataAccessor {
  getProcessorMetadata(target: Function): RegistrationMetadata | undefined {
    return Reflect.getOwnMetadata(ORDER_PROCESSOR_METADATA, target);
  }

  getPluginMetadata(target: Function): RegistrationMetadata | undefined {
    return Reflect.getOwnMetadata(PROCESSOR_PLUGIN_METADATA, target);
  }

  getCompensationMetadata(target: Function): RegistrationMetadata | undefined {
    return Reflect.getOwnMetadata(LATE_COMPENSATION_METADATA, target);
  }
}
