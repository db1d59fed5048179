import { AmqpMessaging } from '@order-fsm/core';
import { AMQP_URL, deleteTopology, uniquePrefix } from './support/broker.js';

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
      // Rejections surface on a later turn of the event loop.
      await new Promise((resolve) => setTimeout(resolve, 300));
    } finally {
      process.off('unhandledRejection', collect);
    }
    expect(unhandled.map(String)).toEqual([]);
  });
});
