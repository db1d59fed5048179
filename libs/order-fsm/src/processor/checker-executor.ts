import type { Logger } from '@nestjs/common';
import type { Checker } from './checker.js';
import type { ServiceResult } from '../model/service-result.js';
import type { StateContext } from './state-context.js';

const byOrder = (a: { order?: number }, b: { order?: number }) => (a.order ?? 0) - (b.order ?? 0);

/** Runs checkers as the template asks, and remembers which ran so that they can be released. */
export class CheckerExecutor {
  constructor(private readonly logger: Logger) {}

  /** Runs in order and stops at the first failure, which it returns. */
  async serial(
    checkers: readonly Checker[] | undefined,
    ctx: StateContext,
    invoked: Checker[],
  ): Promise<ServiceResult | undefined> {
    if (!checkers || checkers.length === 0) return undefined;
    for (const checker of [...checkers].sort(byOrder)) {
      invoked.push(checker);
      const result = await checker.check(ctx);
      if (!result.success) return result;
    }
    return undefined;
  }

  /** Runs all at once and waits for all; reports the failure (or error) that comes first by order. */
  async parallel(
    checkers: readonly Checker[] | undefined,
    ctx: StateContext,
    invoked: Checker[],
  ): Promise<ServiceResult | undefined> {
    if (!checkers || checkers.length === 0) return undefined;
    const sorted = [...checkers].sort(byOrder);
    invoked.push(...sorted);
    const settled = await Promise.allSettled(sorted.map(async (checker) => checker.check(ctx)));
    for (const outcome of settled) {
      if (outcome.status === 'rejected') throw outcome.reason;
      if (!outcome.value.success) return outcome.value;
    }
    return undefined;
  }

  /**
   * Releases, once each and concurrently, the invoked checkers that say they hold something.
   * A release that fails is logged: it cannot change what already happened to the order.
   */
  async release(invoked: readonly Checker[], ctx: StateContext, result: ServiceResult): Promise<void> {
    const holders = new Set<Checker>();
    for (const checker of invoked) {
      if (!checker.release || holders.has(checker)) continue;
      try {
        if (checker.needRelease?.(ctx)) holders.add(checker);
      } catch (error) {
        this.logger.error(`needRelease() of ${checker.constructor.name} threw; releasing it anyway`, error as Error);
        holders.add(checker);
      }
    }
    if (holders.size === 0) return;
    const settled = await Promise.allSettled([...holders].map(async (checker) => checker.release!(ctx, result)));
    settled.forEach((outcome, i) => {
      if (outcome.status === 'rejected') {
        const name = [...holders][i].constructor.name;
        this.logger.error(`release() of ${name} failed for order ${ctx.event.orderId}`, outcome.reason as Error);
      }
    });
  }
}
