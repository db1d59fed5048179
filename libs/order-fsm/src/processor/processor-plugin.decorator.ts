import { Injectable } from '@nestjs/common';
import { LATE_COMPENSATION_METADATA, PROCESSOR_PLUGIN_METADATA } from '../order-fsm.constants.js';
import { RegistrationOptions, toRegistrationMetadata } from './registration.js';

/**
 * Marks a provider as a plugin of the processors for an event in a state. Plugins of every matching
 * level (exact, bizCode@*, *@sceneId, *@*) run. The class must extend AbstractProcessorPlugin.
 */
export function ProcessorPlugin(options: RegistrationOptions): ClassDecorator {
  return (target) => {
    Injectable()(target);
    Reflect.defineMetadata(PROCESSOR_PLUGIN_METADATA, toRegistrationMetadata(options), target);
  };
}

/**
 * Marks a provider as the compensation of an event that arrives late in a state (the machine's
 * `late` policy there is `compensate`). The class must extend AbstractLateEventCompensation.
 */
export function LateEventCompensation(options: RegistrationOptions): ClassDecorator {
  return (target) => {
    Injectable()(target);
    Reflect.defineMetadata(LATE_COMPENSATION_METADATA, toRegistrationMetadata(options), target);
  };
}
