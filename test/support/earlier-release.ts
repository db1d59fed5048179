import type { Provider } from '@nestjs/common';
import { LateEventCompensation, OrderProcessor, ProcessorPlugin, type RegistrationOptions } from '@order-fsm/core';
import { TAXI_PROVIDERS } from '../../apps/order-service/src/taxi/taxi.module.js';
import { OrderFsmMetadataAccessor } from '../../libs/order-fsm/src/registry/order-fsm-metadata.accessor.js';
import type { RegistrationMetadata } from '../../libs/order-fsm/src/processor/registration.js';

const accessor = new OrderFsmMetadataAccessor();

const optionsOf = (metadata: RegistrationMetadata, versions: readonly number[]): RegistrationOptions => ({
  event: metadata.event,
  ...(metadata.states && { state: metadata.states }),
  ...(metadata.bizCodes && { bizCode: metadata.bizCodes }),
  ...(metadata.sceneIds && { sceneId: metadata.sceneIds }),
  versions,
});

/**
 * The taxi module's providers as a release of the service that served only `versions` of the
 * machine had them: the release before v2 (`[1]`), or one that retired v1 (`[2]`). A processor,
 * plugin or compensation that names its versions is declared again (a subclass of the same name)
 * for those of them served, and left out when it serves none; one that names no version serves the
 * current one, whichever it is, and is kept as it is; every other provider is kept.
 */
export function taxiProvidersServing(versions: readonly number[]): Provider[] {
  const providers: Provider[] = [];
  for (const provider of TAXI_PROVIDERS as Provider[]) {
    if (typeof provider !== 'function') {
      providers.push(provider);
      continue;
    }
    const kinds = [
      [accessor.getProcessorMetadata(provider), OrderProcessor],
      [accessor.getPluginMetadata(provider), ProcessorPlugin],
      [accessor.getCompensationMetadata(provider), LateEventCompensation],
    ] as const;
    const declared = kinds.find(([metadata]) => metadata?.versions !== undefined);
    if (!declared) {
      providers.push(provider);
      continue;
    }
    const [metadata, decorator] = declared;
    const served = metadata!.versions!.filter((version) => versions.includes(version));
    if (served.length === 0) continue;
    const release = { [provider.name]: class extends (provider as new (...args: never[]) => object) {} }[provider.name]!;
    decorator(optionsOf(metadata!, served))(release);
    providers.push(release);
  }
  return providers;
}
