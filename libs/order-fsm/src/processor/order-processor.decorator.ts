import { Injectable } from '@nestjs/common';
import { ORDER_PROCESSOR_METADATA } from '../order-fsm.constants.js';
import { RegistrationOptions, toRegistrationMetadata } from './registration.js';

/**
 * Marks a provider as the processor of an event in a state, for some bizCodes and sceneIds.
 * The class must extend AbstractStateProcessor and be listed in a module's providers.
 */
export function OrderProcessor(options: RegistrationOptions): ClassDecorator {
  return (target) => {
    Injectable()(target);
    Reflect.defineMetadata(ORDER_PROCESSOR_METADATA, toRegistrationMetadata(options), target);
  };
}
