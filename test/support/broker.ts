import { type StatusMessage } from '@order-fsm/core';
import { amqpTopology } from '@order-fsm/core/amqp';
import amqplib from 'amqplib';
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { promisify } from 'node:util';

const run = promisify(execFile);
export const AMQP_URL = process.env.AMQP_URL || 'amqp://guest:guest@127.0.0.1:5672';

/** Exchanges and queues of their own for one test file. */
export const uniquePrefix = (name: string) => `test.${name}.${randomUUID().slice(0, 8)}`;

/** Polls `condition` until it holds (or throws after `timeoutMs`): waits on the outcome, never on a guess. */
export async function waitFor<T>(what: string, condition: () => Promise<T | false | null | undefined>, timeoutMs = 30_000, everyMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await condition();
      if (value) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${last}` : ''}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

async function connect() {
  return waitFor('RabbitMQ', () => amqplib.connect(AMQP_URL), 60_000, 250);
}

/** A durable queue bound to every status message of `prefix`: what a consumer would see. */
export async function auditQueue(prefix: string) {
  const { eventsExchange } = amqpTopology(prefix, 0);
  const queue = `${prefix}.audit`;
  const connection = await connect();
  const channel = await connection.createChannel();
  await channel.assertExchange(eventsExchange, 'topic', { durable: true });
  await channel.assertQueue(queue, { durable: true });
  await channel.bindQueue(queue, eventsExchange, '#');
  await connection.close();
  return {
    /** Everything on the queue now, in queue order. */
    async drain(): Promise<StatusMessage[]> {
      const c = await connect();
      const ch = await c.createChannel();
      const messages: StatusMessage[] = [];
      for (let m = await ch.get(queue, { noAck: true }); m; m = await ch.get(queue, { noAck: true })) {
        messages.push(JSON.parse(m.content.toString('utf8')));
      }
      await c.close();
      return messages;
    },
    remove: () => deleteTopology(prefix, [queue]),
  };
}

export async function queueMessages(queue: string): Promise<Array<{ body: unknown; headers: Record<string, unknown> }>> {
  const c = await connect();
  const ch = await c.createChannel();
  const out: Array<{ body: unknown; headers: Record<string, unknown> }> = [];
  for (let m = await ch.get(queue, { noAck: false }); m; m = await ch.get(queue, { noAck: false })) {
    const text = m.content.toString('utf8');
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {
      // not JSON: keep the text
    }
    out.push({ body, headers: m.properties.headers ?? {} });
  }
  await ch.close(); // unacknowledged: they go back to the queue
  await c.close();
  return out;
}

export async function purgeQueue(queue: string): Promise<number> {
  const c = await connect();
  const ch = await c.createChannel();
  const { messageCount } = await ch.purgeQueue(queue);
  await c.close();
  return messageCount;
}

export async function publishRaw(exchange: string, routingKey: string, content: string): Promise<void> {
  const c = await connect();
  const ch = await c.createConfirmChannel();
  ch.publish(exchange, routingKey, Buffer.from(content), { persistent: true, messageId: `raw-${randomUUID()}` });
  await ch.waitForConfirms();
  await c.close();
}

export async function deleteTopology(prefix: string, extraQueues: string[] = []): Promise<void> {
  const t = amqpTopology(prefix, 5);
  const c = await connect();
  const ch = await c.createChannel();
  for (const q of [t.workQueue, ...t.retryQueues, t.deadQueue, ...extraQueues]) await ch.deleteQueue(q).catch(() => undefined);
  for (const e of [t.eventsExchange, t.workExchange]) await ch.deleteExchange(e).catch(() => undefined);
  await c.close().catch(() => undefined);
}

/** Restarts the RabbitMQ application on this machine: every connection drops, durable queues stay. */
export async function restartRabbitMq(whileDown?: () => Promise<void>): Promise<void> {
  await run('rabbitmqctl', ['stop_app'], { timeout: 60_000 });
  try {
    await whileDown?.();
  } finally {
    await run('rabbitmqctl', ['start_app'], { timeout: 120_000 });
    await run('rabbitmqctl', ['await_startup'], { timeout: 120_000 });
  }
}
