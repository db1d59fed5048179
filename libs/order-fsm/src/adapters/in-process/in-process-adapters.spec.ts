import type { WorkMessage } from '../../model/messages.js';
import { OrderBusyError } from '../../errors/order-fsm.errors.js';
import type { ClaimedMessage } from '../../ports/order-store.js';
import { InProcessMessaging } from './in-process-messaging.js';
import { InProcessOrderLock } from './in-process-order-lock.js';

const work = (n: number): ClaimedMessage => {
  const body: WorkMessage = { messageId: `w-${n}`, orderId: `o-${n}`, version: 1, state: 'S', event: 'GO', origin: 'transition' };
  return { id: n, orderId: body.orderId, messageId: body.messageId, kind: 'work', routingKey: 'work', payload: JSON.stringify(body), createdAt: new Date() };
};

const until = async (condition: () => boolean) => {
  for (let i = 0; i < 200 && !condition(); i++) await new Promise((r) => setTimeout(r, 5));
  expect(condition()).toBe(true);
};

describe('InProcessOrderLock', () => {
  it('lets one holder in per order, in arrival order, and other orders through at once', async () => {
    const lock = new InProcessOrderLock({ waitMs: 1_000 });
    const order: string[] = [];
    const first = await lock.acquire('a');
    const other = await lock.acquire('b');
    const second = lock.acquire('a').then((h) => (order.push('second'), h));
    const third = lock.acquire('a').then((h) => (order.push('third'), h));
    await other.release();
    expect(order).toEqual([]);
    await first.release();
    await (await second).release();
    await (await third).release();
    expect(order).toEqual(['second', 'third']);
    expect(lock.held).toBe(0);
    // Taken by the first, passed on to the next: what the metrics count lock waits by.
    expect([first.grant, other.grant, (await second).grant, (await third).grant]).toEqual(['acquired', 'acquired', 'handed_off', 'handed_off']);
  });

  it('answers ORDER_BUSY after the wait, and a release twice frees nothing more', async () => {
    const lock = new InProcessOrderLock({ waitMs: 20 });
    const held = await lock.acquire('a');
    await expect(lock.acquire('a')).rejects.toBeInstanceOf(OrderBusyError);
    await held.release();
    await held.release();
    const again = await lock.acquire('a');
    await expect(lock.acquire('a')).rejects.toBeInstanceOf(OrderBusyError);
    await again.release();
    expect(lock.held).toBe(0);
  });
});

describe('InProcessMessaging', () => {
  it('hands work to the worker, retries it after its delays, then dead-letters it', async () => {
    const messaging = new InProcessMessaging({ retryDelaysMs: [5, 5] });
    const attempts: number[] = [];
    const dead: string[] = [];
    await messaging.start(
      async (_work, attempt) => (attempts.push(attempt), { outcome: 'retry', reason: 'no' }),
      async (w, reason) => void dead.push(`${w.messageId}: ${reason}`),
    );
    expect(await messaging.publish([work(1)])).toEqual([1]);
    await until(() => dead.length === 1);
    expect(attempts).toEqual([1, 2, 3]);
    expect(dead).toEqual(['w-1: no']);
    expect(messaging.deadLetters()).toHaveLength(1);
    expect(messaging.idle).toBe(true);
  });

  it('brings waiting work back without spending an attempt, and keeps work published before start', async () => {
    const messaging = new InProcessMessaging({ retryDelaysMs: [5] });
    await messaging.publish([work(2)]);
    const seen: number[] = [];
    await messaging.start(async (_w, attempt) => {
      seen.push(attempt);
      return seen.length < 3 ? { outcome: 'wait', reason: 'redis is down' } : { outcome: 'done', detail: 'ok' };
    }, async () => undefined);
    await until(() => seen.length === 3 && messaging.idle);
    expect(seen).toEqual([1, 1, 1]);
    expect(messaging.deadLetters()).toEqual([]);
  });

  it('hands the trace context a message carries to every delivery of its work, retries too', async () => {
    const messaging = new InProcessMessaging({ retryDelaysMs: [5] });
    const traceContext = { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' };
    const seen: Array<[number, unknown]> = [];
    await messaging.start(
      async (_work, attempt, carried) => {
        seen.push([attempt, carried]);
        return attempt === 1 ? { outcome: 'retry', reason: 'again' } : { outcome: 'done', detail: 'ok' };
      },
      async () => undefined,
    );
    await messaging.publish([{ ...work(1), traceContext }, work(2)]);
    await until(() => seen.length === 4);
    expect(seen).toEqual(expect.arrayContaining([[1, traceContext], [2, traceContext], [1, undefined], [2, undefined]]));
    await messaging.stop();
  });

  it('gives status messages to listeners in the order published', async () => {
    const messaging = new InProcessMessaging();
    const seen: number[] = [];
    const off = messaging.onStatus((m) => seen.push(m.version));
    const status = (id: number, version: number): ClaimedMessage => ({
      id, orderId: 'o', messageId: `o:${version}`, kind: 'status', routingKey: 'k', createdAt: new Date(),
      payload: JSON.stringify({ messageId: `o:${version}`, orderId: 'o', version }),
    });
    await messaging.publish([status(1, 1), status(2, 2)]);
    off();
    await messaging.publish([status(3, 3)]);
    expect(seen).toEqual([1, 2]);
    expect(messaging.recent().map((m) => m.version)).toEqual([1, 2, 3]);
  });
});
