import { Injectable } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { AbstractStateProcessor, defineMachine, OrderFsmEngine, OrderFsmError, OrderFsmModule, OrderProcessor, ServiceResult, type StateContext } from '@order-fsm/core';
import { RedlockOrderLock } from '@order-fsm/core/redis';
import * as fc from 'fast-check';
import { Redis } from 'ioredis';
import { randomUUID } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { openDatabase, orderStoreFor } from './support/database.js';

/** A small declared machine, and a model of it that is nothing but its table. */
const spec = {
  name: 'documents',
  initial: 'INIT',
  states: { DRAFT: {}, REVIEW: {}, APPROVED: {}, ARCHIVED: { final: true }, CANCELLED: { final: true } },
  transitions: [
    { from: 'INIT', event: 'CREATE', to: 'DRAFT' },
    { from: 'DRAFT', event: 'SUBMIT', to: 'REVIEW' },
    { from: 'REVIEW', event: 'APPROVE', to: 'APPROVED' },
    { from: 'REVIEW', event: 'REJECT', to: 'DRAFT' },
    { from: 'APPROVED', event: 'ARCHIVE', to: 'ARCHIVED' },
    { from: ['DRAFT', 'REVIEW'], event: 'CANCEL', to: 'CANCELLED' },
  ],
} as const;
const machine = defineMachine(spec);
const target = (state: string, event: string): string | undefined =>
  spec.transitions.find((t) => t.event === event && ([] as string[]).concat(t.from).includes(state))?.to;
const STATES = ['DRAFT', 'REVIEW', 'APPROVED', 'ARCHIVED', 'CANCELLED'];
const EVENTS = ['SUBMIT', 'APPROVE', 'REJECT', 'ARCHIVE', 'CANCEL', 'BOGUS'];

/** One processor for every declared step: it moves where the table says. SUBMIT refuses `{ invalid: true }`. */
abstract class TableProcessor extends AbstractStateProcessor {
  getNextState(ctx: StateContext) {
    return target(ctx.order.state, ctx.event.eventType)!;
  }
  action() {
    return ServiceResult.ok();
  }
}
@Injectable()
@OrderProcessor({ state: 'INIT', event: 'CREATE', bizCode: 'DOC' })
class CreateDoc extends TableProcessor {}
@Injectable()
@OrderProcessor({ state: 'DRAFT', event: 'SUBMIT', bizCode: 'DOC' })
class SubmitDoc extends TableProcessor {
  override checkers() {
    return { param: [{ check: (ctx: StateContext<{ payload: { invalid?: boolean } | undefined }>) => (ctx.payload?.invalid ? ServiceResult.fail('INVALID', 'refused by its checker') : ServiceResult.ok()) }] };
  }
}
@Injectable()
@OrderProcessor({ state: 'REVIEW', event: 'APPROVE', bizCode: 'DOC' })
class ApproveDoc extends TableProcessor {}
@Injectable()
@OrderProcessor({ state: 'REVIEW', event: 'REJECT', bizCode: 'DOC' })
class RejectDoc extends TableProcessor {}
@Injectable()
@OrderProcessor({ state: 'APPROVED', event: 'ARCHIVE', bizCode: 'DOC' })
class ArchiveDoc extends TableProcessor {}
@Injectable()
@OrderProcessor({ state: ['DRAFT', 'REVIEW'], event: 'CANCEL', bizCode: 'DOC' })
class CancelDoc extends TableProcessor {}

interface Command {
  order: number;
  event: string;
  invalid: boolean;
  expectedState?: string;
  /** Send again, as is, the request of this earlier command (a client's retry). */
  replayOf?: number;
}

type Answer = { ok: true; toState: string; version: number; replayed: boolean } | { ok: false; code: string };

interface ModelOrder {
  state: string;
  version: number;
  consumed: Map<string, { toState: string; version: number }>;
}

/** What the declared machine says a request must answer, and how it moves the model. */
function expected(model: ModelOrder, requestId: string, c: Command): Answer {
  const seen = model.consumed.get(requestId);
  if (seen) return { ok: true, ...seen, replayed: true };
  if (c.expectedState !== undefined && c.expectedState !== model.state) return { ok: false, code: 'ORDER_STATE_NOT_MATCH' };
  const to = target(model.state, c.event);
  if (!to) return { ok: false, code: 'NOT_FOUND_PROCESSOR' };
  if (c.event === 'SUBMIT' && c.invalid) return { ok: false, code: 'CHECK_FAILED' };
  model.state = to;
  model.version += 1;
  model.consumed.set(requestId, { toState: to, version: model.version });
  return { ok: true, toState: to, version: model.version, replayed: false };
}

const command: fc.Arbitrary<Command> = fc.record(
  {
    order: fc.integer({ min: 0, max: 2 }),
    event: fc.constantFrom(...EVENTS),
    invalid: fc.boolean(),
    expectedState: fc.option(fc.constantFrom(...STATES), { nil: undefined }),
    replayOf: fc.option(fc.nat(), { nil: undefined }),
  },
  { requiredKeys: ['order', 'event', 'invalid'] },
);

describe('random event sequences against the declared machine (fast-check)', () => {
  let dataSource: DataSource;
  let redis: Redis;
  let engine: OrderFsmEngine;
  let close: () => Promise<void>;

  beforeAll(async () => {
    // The database of the suite (MariaDB, or PostgreSQL in the *-postgres projects), with order-fsm's store for it.
    dataSource = await openDatabase({ engineSchema: true });
    redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', { enableOfflineQueue: false, maxRetriesPerRequest: 1 });
    if (redis.status !== 'ready') await new Promise((resolve) => redis.once('ready', resolve));
    const moduleRef = await Test.createTestingModule({
      imports: [
        OrderFsmModule.forRoot({
          machine,
          store: orderStoreFor(dataSource),
          lock: new RedlockOrderLock(redis),
          timers: { enabled: false },
          sweeper: { enabled: false },
        }),
      ],
      providers: [CreateDoc, SubmitDoc, ApproveDoc, RejectDoc, ArchiveDoc, CancelDoc],
    }).compile();
    const app = await moduleRef.init();
    engine = app.get(OrderFsmEngine);
    close = () => app.close();
  });
  afterAll(async () => {
    await close();
    redis.disconnect();
    await dataSource.destroy();
  });

  it('answers and moves every order exactly as the machine declares, replays included, and the log agrees', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(command, { minLength: 1, maxLength: 30 }), async (commands) => {
        const orderIds = [0, 1, 2].map(() => `model-${randomUUID()}`);
        const models: ModelOrder[] = orderIds.map(() => ({ state: 'DRAFT', version: 1, consumed: new Map() }));
        for (const orderId of orderIds) await engine.createOrder({ orderId, requestId: `create-${orderId}`, bizCode: 'DOC', sceneId: 'S' });
        const sent: Array<{ requestId: string; c: Command }> = [];
        for (const raw of commands) {
          const previous = raw.replayOf !== undefined && sent.length > 0 ? sent[raw.replayOf % sent.length] : undefined;
          const { requestId, c } = previous ?? { requestId: `req-${randomUUID()}`, c: raw };
          sent.push({ requestId, c });
          const want = expected(models[c.order], requestId, c);
          let got: Answer;
          try {
            const outcome = await engine.sendEvent({
              eventType: c.event,
              orderId: orderIds[c.order],
              requestId,
              orderState: c.expectedState,
              payload: { invalid: c.invalid },
            });
            got = { ok: true, toState: outcome.toState, version: outcome.version, replayed: !!outcome.replayed };
          } catch (error) {
            if (!(error instanceof OrderFsmError)) throw error;
            got = { ok: false, code: error.code };
          }
          expect(got).toEqual(want);
        }
        for (const [i, orderId] of orderIds.entries()) {
          const order = await engine.findOrder(orderId);
          expect({ state: order!.state, version: order!.version }).toEqual({ state: models[i].state, version: models[i].version });
          const log = await engine.listTransitions(orderId);
          expect(log.map((t) => t.version)).toEqual(Array.from({ length: models[i].version }, (_, v) => v + 1));
          for (const t of log) expect(machine.allows(t.fromState, t.event, t.toState)).toBe(true);
        }
      }),
      { numRuns: 40 },
    );
  });
});
