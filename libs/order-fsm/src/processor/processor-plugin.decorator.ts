import { Injectable } from '@nestjs/common';
import { PROCESSOR_PLUGIN_METADATA } from '../order-fsm.constants.js';
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
