import { BeforeApplicationShutdown, Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { derivedRequestId, OrderFsmEngine, SYSTEM_CALLER_KEY } from '../engine/order-fsm.engine.js';
import { errorKindOf } from '../errors/error-codes.js';
import { OrderFsmError } from '../errors/order-fsm.errors.js';
import { HELD_SOURCE } from '../model/event.js';
import { lateOutboxMessage } from '../model/messages.js';
import type { OrderStateEvent } from '../model/event.js';
import type { MachineDefinition } from '../model/machine.js';
import type { FsmOrder } from '../model/order.js';
import type { LateOutcome } from '../model/outcome.js';
import { ORDER_FSM_OPTIONS, ORDER_STORE } from '../order-fsm.constants.js';
import { migratesOnward, type ResolvedOrderFsmOptions, servedMachineOf } from '../order-fsm.options.js';
import type { HeldEvent, HeldEventSettlement, OrderStore } from '../ports/order-store.js';
import { BackgroundLoop } from './background-loop.js';

/** Builds a held event's ending: its status, outcome, the answer a retry gets, and the version and fence. */
type Ending = (
  status: 'released' | 'expired' | 'compensated' | 'refused',
  outcome: string,
  response: unknown,
  options?: { version?: number; result?: unknown; orderVersion?: number; flag?: string },
) => HeldEventSettlement;

/** How long a claimed held event is the claimer's before another instance may look at it. */
const CLAIM_LEASE_MS = 30_000;
/** A held event whose order is busy (or a dependency is down) is looked at again after this. */
const RETRY_AFTER_MS = 1_000;
/** A held event of an order of a machine version newer than this instance serves is looked at again after this. */
const NOT_YET_SERVED_RECHECK_MS = 10_000;
/**
 * Without a transition to wake it, a held event is looked at again at least this often: a wake lost
 * to a crash between a commit and its wake costs at most this much.
 */
const RECHECK_MS = 60_000;

/**
 * Releases held late events: a transition of an order that holds some makes them due at once (the
 * engine's wake), and each is looked at then. If the order's state now takes the event, it is sent
 * again as its sender sent it (source `held`, a request id derived from the held event: a release
 * repeated after a crash is a replay), and the held event is settled `released` with the
 * transition's answer, which a retry of the first request then gets. Past its deadline (or where the
 * order can no longer reach a state that takes it) it is settled `expired`, or, where its machine
 * says `hold: { onExpiry: 'compensate' }`, `compensated`: the compensation of the event in the state
 * it was held in runs against the order as it is, and its result is recorded and sent, once, as a
 * compensation on arrival is. An event its processor (or that compensation) refuses is settled
 * `refused`. Each ending sends a late-event message.
 *
 * An order of a machine version this service does not serve is migrated first, where a migration
 * from its version is declared, as an event sent to it would migrate it (and as the sweeper migrates
 * a stuck one); the held event is then looked at against the order as migrated. Without such a
 * migration it is settled `refused` (`MACHINE_VERSION_NOT_SERVED: ` and its message). An order of a version
 * newer than this instance serves (an instance of a newer release made it, during a rolling deploy)
 * is not this instance's: its held event stays held, looked at again every 10 s, until its deadline.
 */
@Injectable()
export class HeldEventPoller implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(HeldEventPoller.name);
  private readonly loop: BackgroundLoop;

  constructor(
    @Inject(ORDER_FSM_OPTIONS) private readonly options: ResolvedOrderFsmOptions,
    @Inject(ORDER_STORE) private readonly store: OrderStore,
    private readonly engine: OrderFsmEngine,
  ) {
    const { intervalMs, batchSize } = options.timers;
    this.loop = new BackgroundLoop('held event poller', this.logger, intervalMs, async () => (await this.releaseDue(new Date(), batchSize)) === batchSize);
  }

  onApplicationBootstrap(): void {
    // Held events ride on the timers' schedule: an instance that fires timers releases held events.
    if (this.options.timers.enabled) this.loop.start();
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.loop.stop();
  }

  /** Claims the held events due to be looked at by `now` and looks at each; answers how many were claimed. */
  async releaseDue(now: Date, limit: number): Promise<number> {
    const due = await this.store.claimHeldEvents(now, limit, CLAIM_LEASE_MS);
    let failure: unknown;
    for (const held of due) await this.lookAt(held, now).catch((error: unknown) => (failure ??= error));
    if (failure) throw failure;
    return due.length;
  }

  private async lookAt(held: HeldEvent, now: Date): Promise<void> {
    let order = await this.engine.findOrder(held.orderId);
    const end: Ending = (status, outcome, response, { version = held.version, result, orderVersion, flag } = {}) => {
      const late: LateOutcome = { policy: 'hold', status, deadline: held.deadline.toISOString() };
      const at = new Date();
      const where = order ?? { orderId: held.orderId, version: held.version, state: held.state, bizCode: '', sceneId: '' };
      return {
        status,
        outcome,
        response: JSON.stringify({ ...(response as object), late }),
        orderId: held.orderId,
        version,
        ...(orderVersion !== undefined && { orderVersion }),
        ...(flag !== undefined && { flag }),
        messages: this.options.outbox
          ? [lateOutboxMessage({ ...where, version }, { event: held.event, requestId: held.requestId, caller: held.caller, source: held.source, at, late, outcome, result })]
          : [],
      };
    };
    // What a retry of the first request is answered once it is settled without applying: the event
    // did nothing; the order as it is now (or as it was, if it is gone).
    const stillHeld = (): object => ({
      orderId: held.orderId,
      event: held.event,
      fromState: held.state,
      toState: held.state,
      version: held.version,
      result: null,
      order: order ?? { orderId: held.orderId, state: held.state, version: held.version, bizCode: '', sceneId: '', data: {} },
    });
    if (order && !order.paused && !servedMachineOf(this.options, order) && migratesOnward(this.options, order)) {
      // A version not served here: the migration declared from it moves the order on first, as an
      // event sent to it would, and the event is looked at against the order as it is after.
      const before = { orderId: order.orderId, orderVersion: order.version };
      try {
        order = (await this.engine.migrateUnserved(order.orderId)) ?? null;
      } catch (error) {
        if (await this.settledAsReleased(held, end)) return;
        await this.store.settleHeldEvent(held.id, this.afterFailure(held, error, 'on migrating its order', end, stillHeld, before));
        return;
      }
    }
    if (await this.settledAsReleased(held, end)) return;
    if (!order) {
      await this.store.settleHeldEvent(held.id, end('expired', 'the order is gone', stillHeld()));
      return;
    }
    const fence = { orderId: order.orderId, orderVersion: order.version };
    let settlement: HeldEventSettlement;
    if (order.paused) {
      settlement = { nextCheckAt: new Date(now.getTime() + RECHECK_MS), ...fence };
    } else {
      let machine;
      try {
        machine = this.engine.machineOf(order);
      } catch (error) {
        if (error instanceof OrderFsmError && error.code === 'MACHINE_VERSION_NOT_YET_SERVED') {
          // A version newer than this instance's (a rolling deploy under way): an instance of a newer
          // release releases it, or expires it past its deadline under that version's policy (which
          // may give back what it brought). This one decides nothing on it, its deadline passed or not:
          // it looks again later.
          settlement = { nextCheckAt: new Date(now.getTime() + NOT_YET_SERVED_RECHECK_MS), ...fence };
        } else {
          // An earlier version no longer served, which no migration moves on: nothing will release it.
          const code = error instanceof OrderFsmError ? error.code : 'INTERNAL_ERROR';
          settlement = end('refused', `${code}: ${(error as Error).message}`, stillHeld(), fence);
        }
        await this.store.settleHeldEvent(held.id, settlement);
        return;
      }
      if (machine.hasEvent(order.state, held.event)) {
        const released = await this.release(held, order.state, order.version, machine, end, stillHeld);
        if (!released) return;
        settlement = released;
      } else if (now >= held.deadline) {
        return this.expire(held, order, machine, `its deadline passed with the order in ${order.state}`, end, stillHeld);
      } else if (!machine.canStillTake(order.state, held.event)) {
        return this.expire(held, order, machine, `the order is in ${order.state}, from where no state takes ${held.event}`, end, stillHeld);
      } else {
        // Looked at again later, unless the order moved meanwhile (a wake this would overwrite): then at once.
        settlement = { nextCheckAt: new Date(Math.min(held.deadline.getTime(), now.getTime() + RECHECK_MS)), ...fence };
      }
    }
    await this.store.settleHeldEvent(held.id, settlement);
  }

  /**
   * A release that committed but was never settled (its instance ended in between) is what happened,
   * whatever the order did since: settled `released`. Looked for after the order was read: a release
   * that commits later moves the order past the version what is decided on it is fenced by.
   */
  private async settledAsReleased(held: HeldEvent, end: Ending): Promise<boolean> {
    const release = await this.store.findConsumedRequest(derivedRequestId('held', held.id), SYSTEM_CALLER_KEY);
    if (!release) return false;
    const answer = release.response as { version: number };
    await this.store.settleHeldEvent(held.id, end('released', `applied v${answer.version}`, answer, { version: answer.version }));
    return true;
  }

  private async release(held: HeldEvent, state: string, version: number, machine: MachineDefinition, end: Ending, stillHeld: () => object): Promise<HeldEventSettlement | undefined> {
    // Read after the order: an ending (an expiry's compensation, say) settled since the claim was
    // decided on the order before the transition read above, and stands. Nothing to do then.
    if (!(await this.store.listLateEvents(held.orderId)).some((late) => late.id === held.id && late.status === 'held')) return undefined;
    try {
      const outcome = await this.engine.sendEvent({ ...this.eventOf(held, derivedRequestId('held', held.id)), orderState: state, expectedVersion: version });
      this.logger.log(`released held ${held.event} for order ${held.orderId}: ${outcome.fromState} -> ${outcome.toState} v${outcome.version}`);
      const { replayed: _replayed, ...answer } = outcome;
      return end('released', `applied v${outcome.version}`, answer, { version: outcome.version });
    } catch (error) {
      // Refused where the machine gives the event back on expiry: what it brought (money) is owed.
      const owed = machine.compensatesOnExpiry(held.event, held.state);
      return this.afterFailure(held, error, 'on release', end, stillHeld, { orderId: held.orderId, orderVersion: version }, owed);
    }
  }

  /**
   * A held event that expires, on the order as read at `order.version`: settled `expired`, or, where
   * the machine compensates it on expiry (`hold: { onExpiry: 'compensate' }` in the state it was held
   * in), `compensated` with its compensation's result, which leaves in the late-event message (a
   * refund to make, say). Either ending is fenced by that version: a transition since (the one that
   * would have taken the event, say) sends it back to be looked at again. A compensation that cannot
   * run settles it `refused` and flags the order for a person, in the same transaction (money may be
   * waiting to be given back); one that meets a busy order or a dependency down is tried again.
   */
  private async expire(held: HeldEvent, order: FsmOrder, machine: MachineDefinition, reason: string, end: Ending, stillHeld: () => object): Promise<void> {
    const fence = { orderId: order.orderId, orderVersion: order.version };
    if (!machine.compensatesOnExpiry(held.event, held.state)) {
      await this.store.settleHeldEvent(held.id, end('expired', reason, stillHeld(), fence));
      return;
    }
    let result: unknown;
    try {
      result = await this.engine.compensate(this.eventOf(held, held.requestId), structuredClone(order), held.state, machine);
    } catch (error) {
      await this.store.settleHeldEvent(held.id, this.afterFailure(held, error, 'on its compensation', end, stillHeld, fence, true, true));
      return;
    }
    if (await this.store.settleHeldEvent(held.id, end('compensated', `${reason}; compensated`, { ...stillHeld(), result: result ?? null }, { result, ...fence }))) {
      this.logger.log(`compensated held ${held.event} for order ${held.orderId} on expiry: ${reason}`);
    }
  }

  /** The held event as its sender sent it, with `requestId`. */
  private eventOf(held: HeldEvent, requestId: string): OrderStateEvent {
    return {
      eventType: held.event,
      orderId: held.orderId,
      requestId,
      payload: held.payload,
      source: HELD_SOURCE,
      ...(held.caller && !held.caller.startsWith('@') && held.callerRole && { caller: { name: held.caller, role: held.callerRole } }),
    };
  }

  /**
   * What a failure of the release (or of the migration before it, or of the compensation on expiry)
   * makes of the held event, decided on the order at `fence`. Busy, a dependency down, a concurrent
   * writer: looked at again shortly. Moved on meanwhile: again at once (`final`: refused, where
   * nothing would change on another look). Otherwise refused, the outcome led by the code; `owed`
   * flags the order in the same transaction, for a person to give back what the event brought.
   */
  private afterFailure(
    held: HeldEvent,
    error: unknown,
    when: string,
    end: Ending,
    stillHeld: () => object,
    fence: { orderId: string; orderVersion: number },
    owed = false,
    final = false,
  ): HeldEventSettlement {
    const code = error instanceof OrderFsmError ? error.code : 'INTERNAL_ERROR';
    const kind = errorKindOf(code);
    if (kind === 'transient' || kind === 'held') return { nextCheckAt: new Date(Date.now() + RETRY_AFTER_MS), ...fence };
    if (kind === 'moved-on' && !final) return { nextCheckAt: new Date() };
    const why = `${code}: ${(error as Error).message}`;
    this.logger.warn(`held ${held.event} for order ${held.orderId} refused ${when}: ${why}`);
    const flag = owed ? `held ${held.event} (request ${held.requestId}) refused ${when}, and what it brought is owed back: ${why}` : undefined;
    return end('refused', why, stillHeld(), { ...fence, ...(flag && { flag }) });
  }
}
