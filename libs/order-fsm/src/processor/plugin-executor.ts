import type { AbstractProcessorPlugin } from './abstract-processor-plugin.js';
import type { ServiceResult } from '../model/service-result.js';
import type { StateContext } from './state-context.js';

/** Runs the plugins of one event concurrently; reports the failure that comes first by order. */
export async function runPlugins(
  plugins: readonly AbstractProcessorPlugin[],
  ctx: StateContext,
): Promise<ServiceResult | undefined> {
  if (plugins.length === 0) return undefined;
  const settled = await Promise.allSettled(plugins.map(async (plugin) => plugin.execute(ctx)));
  const ranked = settled
    .map((outcome, i) => ({ outcome, order: plugins[i].order ?? 0 }))
    .sort((a, b) => a.order - b.order);
  for (const { outcome } of ranked) {
    if (outcome.status === 'rejected') throw outcome.reason;
    if (outcome.value && !outcome.value.success) return outcome.value;
  }
  return undefined;
}
