import { Injectable, Module } from '@nestjs/common';
import { AbstractStateProcessor, defineMachine, OrderProcessor, ServiceResult, type StateContext } from '@order-fsm/core';
import { DataSource } from 'typeorm';
import { taxiMachineSpec } from '../../apps/order-service/src/taxi/taxi.machine.js';
import { sql } from './database.js';

const taxi = taxiMachineSpec();

/** The taxi machine plus the transitions of the test processors below. */
export const testMachine = defineMachine({
  ...taxi,
  transitions: [
    ...taxi.transitions,
    ...['TEST_AMBIGUOUS', 'TEST_THROWS', 'TEST_SLOW', 'TEST_UNDECLARED', 'TEST_TIMER'].map((event) => ({
      from: 'CREATED' as const,
      event,
      to: 'ACCEPTED' as const,
    })),
  ],
  events: {
    ...taxi.events,
    ...Object.fromEntries(['TEST_AMBIGUOUS', 'TEST_THROWS', 'TEST_SLOW', 'TEST_UNDECLARED'].map((event) => [event, { sentBy: 'client' }])),
    TEST_TIMER: { sentBy: 'system' },
  },
});

/** Lets a test hold a processor inside its template until it says go. */
@Injectable()
export class Gate {
  private waiting?: { reached: () => void; open: Promise<void> };
  private opener?: () => void;

  /** Arms the gate; answers a promise that settles once a processor is waiting at it. */
  arm(): Promise<void> {
    return new Promise((reached) => {
      const open = new Promise<void>((resolve) => (this.opener = resolve));
      this.waiting = { reached, open };
    });
  }

  open(): void {
    this.opener?.();
  }

  async pass(): Promise<void> {
    if (!this.waiting) return;
    const { reached, open } = this.waiting;
    this.waiting = undefined;
    reached();
    await open;
  }
}

abstract class TestProcessor extends AbstractStateProcessor {
  getNextState(): string {
    return 'ACCEPTED';
  }
  action(_next: string, _ctx: StateContext): ServiceResult | Promise<ServiceResult> {
    return ServiceResult.ok();
  }
}

/** Two processors that both accept TEST_AMBIGUOUS: FOUND_MORE_PROCESSOR at runtime. */
@OrderProcessor({ state: 'CREATED', event: 'TEST_AMBIGUOUS' })
export class AmbiguousOneProcessor extends TestProcessor {
  override filter(): boolean {
    return true;
  }
}

@OrderProcessor({ state: 'CREATED', event: 'TEST_AMBIGUOUS' })
export class AmbiguousTwoProcessor extends TestProcessor {
  override filter(): boolean {
    return true;
  }
}

/** A processor with a bug: its action throws. */
@OrderProcessor({ state: 'CREATED', event: 'TEST_THROWS' })
export class ThrowingProcessor extends TestProcessor {
  override action(): ServiceResult {
    throw new Error('secret internal detail at /srv/app/processor.ts:42');
  }
}

/** Picks a target the machine does not declare for this event (CLOSED instead of ACCEPTED). */
@OrderProcessor({ state: 'CREATED', event: 'TEST_UNDECLARED' })
export class UndeclaredTargetProcessor extends TestProcessor {
  override getNextState(): string {
    return 'CLOSED';
  }

  override action(_next: string, ctx: StateContext): ServiceResult {
    (ctx.order.data as Record<string, unknown>).undeclared = true;
    return ServiceResult.ok();
  }
}

/** Waits at the gate after action(), before save: lets another event commit first. */
@OrderProcessor({ state: 'CREATED', event: 'TEST_SLOW' })
export class SlowProcessor extends TestProcessor {
  constructor(private readonly gate: Gate) {
    super();
  }

  override async action(_next: string, ctx: StateContext): Promise<ServiceResult> {
    (ctx.order.data as Record<string, unknown>).slow = true;
    await this.gate.pass();
    return ServiceResult.ok();
  }
}

/** What TimerWitnessProcessor saw of its own timer's row, by order id. */
@Injectable()
export class TimerWitness {
  readonly outcomes = new Map<string, string | null>();
}

/**
 * Fired by a timer: right after its transition commits (in after()), it reads its timer's row on
 * another connection, as any reader would. The order's new state and the timer's mark must agree.
 */
@OrderProcessor({ state: 'CREATED', event: 'TEST_TIMER' })
export class TimerWitnessProcessor extends TestProcessor {
  constructor(
    private readonly dataSource: DataSource,
    private readonly witness: TimerWitness,
  ) {
    super();
  }

  override async after(ctx: StateContext): Promise<void> {
    const [row] = await sql(this.dataSource, "SELECT outcome FROM fsm_timer WHERE order_id = ? AND event = 'TEST_TIMER'", [ctx.order.orderId]);
    this.witness.outcomes.set(ctx.order.orderId, row?.outcome ?? null);
  }
}

@Module({
  providers: [TimerWitness, TimerWitnessProcessor, Gate, AmbiguousOneProcessor, AmbiguousTwoProcessor, ThrowingProcessor, SlowProcessor, UndeclaredTargetProcessor],
})
export class TestProcessorsModule {}
