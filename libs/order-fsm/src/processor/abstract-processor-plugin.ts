import type { ServiceResult } from '../model/service-result.js';
import type { StateContext } from './state-context.js';

/**
 * The contract of a @ProcessorPlugin: shared or differing logic that runs between action() and save(),
 * concurrently with the other plugins of the event, and may change the context. Returning a failed
 * ServiceResult ends the event with CHECK_FAILED.
 */
export abstract class AbstractProcessorPlugin<C = any, P = any> {
  /** Decides which failure is reported when several plugins fail. Default 0. */
  readonly order?: number;

  abstract execute(ctx: StateContext<C, P>): void | ServiceResult<unknown> | Promise<void | ServiceResult<unknown>>;
}
