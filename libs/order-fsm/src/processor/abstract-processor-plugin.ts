import type { ServiceResult } from '../model/service-result.js';
import type { ProcessorTypes } from './processor-types.js';
import type { StateContext } from './state-context.js';

/**
 * The contract of a @ProcessorPlugin: shared or differing logic that runs between action() and save(),
 * concurrently with the other plugins of the event, and may change the context. Returning a failed
 * ServiceResult ends the event with CHECK_FAILED.
 *
 * @typeParam S the types it works with, as a processor's (see ProcessorTypes); usually `data`, since
 * a plugin serves every processor its dimensions match.
 */
export abstract class AbstractProcessorPlugin<S extends ProcessorTypes = {}> {
  /** Decides which failure is reported when several plugins fail. Default 0. */
  readonly order?: number;

  abstract execute(ctx: StateContext<S>): void | ServiceResult<unknown> | Promise<void | ServiceResult<unknown>>;
}
