import { AmqpMessaging } from '@order-fsm/core/amqp';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { AMQP_URL, deleteTopology, publishRaw, uniquePrefix, waitFor } from './support/broker.js';

const run = promisify(execFile);

describe('AmqpMessaging on the real RabbitMQ', () => {
  const prefix = uniquePrefix('messaging');
  afterAll(() => deleteTopology(prefix));

  it('closes a worker whose channel is still being set up without leaving an unhandled rejection', async () => {
    // A worker stopped while its channel is still talking to the broker (a shutdown right after
    // start, a broker restart during setup) must not leave a rejection nobody handles: in a
    // service process that ends the process.
    // Jest fails the test on any unhandled rejection; the listener names it in the assertion too.
    const unhandled: unknown[] = [];
    const collect = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', collect);
    try {
      for (let round = 0; round < 60; round++) {
        const messaging = new AmqpMessaging(AMQP_URL, { prefix, retryDelaysMs: [100] });
        await messaging.start(
          async () => ({ outcome: 'done', detail: 'nothing to do' }),
          async () => undefined,
        );
        while (!messaging.isConnected()) await new Promise((resolve) => setImmediate(resolve));
        // Close at a different point of the worker channel's setup in each round, half a millisecond apart.
        const until = performance.now() + (round % 20) * 0.5;
        while (performance.now() < until) await new Promise((resolve) => setImmediate(resolve));
        await messaging.close();
      }
      // close() resolves after the broker's close-ok, when whatever was still pending on the channels
      // has already failed; Node reports the failures nobody handles once the microtasks of that turn
      // have run. So one turn of the event loop is enough: nothing more can come from a closed connection.
      await new Promise((resolve) => setImmediate(resolve));
    } finally {
      process.off('unhandledRejection', collect);
    }
    expect(unhandled.map(String)).toEqual([]);
  });

  it('keeps consuming when its connection drops while a delivery is being handled', async () => {
    // The delivery's channel dies with the connection and amqp-connection-manager opens a new one.
    // The handler's late ack then names a delivery tag the new channel does not know; whatever the
    // broker and the client make of that, the worker must go on taking work, and the unacknowledged
    // delivery must come back.
    const messaging = new AmqpMessaging(AMQP_URL, { prefix, retryDelaysMs: [100], heartbeatIntervalInSeconds: 60 });
    const seen: string[] = [];
    let entered!: () => void;
    const inHandler = new Promise<void>((resolve) => (entered = resolve));
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    try {
      await messaging.start(async (work) => {
        seen.push(work.messageId);
        if (work.messageId === 'first' && seen.length === 1) {
          entered();
          await held;
        }
        return { outcome: 'done', detail: 'ok' };
      }, async () => undefined);
      const work = (messageId: string) => JSON.stringify({ messageId, orderId: 'o-1', version: 1, state: 'S', event: 'GO', origin: 'transition' });
      await waitFor('the worker connected', async () => messaging.isConnected(), 10_000);
      await publishRaw(messaging.topology.workExchange, 'work', work('first'));
      await inHandler;
      await run('rabbitmqctl', ['close_all_connections', 'order-fsm test: the connection drops mid-delivery'], { timeout: 60_000 });
      await waitFor('the worker reconnected', async () => messaging.isConnected(), 30_000);
      release(); // the handler finishes now, after its channel is gone
      await publishRaw(messaging.topology.workExchange, 'work', work('second'));
      await waitFor('the second delivery handled', async () => seen.includes('second'), 15_000);
      // The first one was never acknowledged on a live channel: it came back, and is handled again.
      await waitFor('the first delivery again', async () => seen.filter((id) => id === 'first').length >= 2, 15_000);
    } finally {
      release();
      await messaging.close();
    }
  });
});
