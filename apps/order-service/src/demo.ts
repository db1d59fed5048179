// `npm run demo`: starts the taxi service (embedded unless DATABASE_URL, REDIS_URL and AMQP_URL are
// set), drives a whole ride, a cancellation and an ENTERPRISE ride that pays itself through REST,
// and prints each order's timeline. DEMO_URL=http://host:port drives a service already running instead.
import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { AppModule } from './app.module.js';
import { createServiceApp } from './bootstrap.js';
import { type CallerEntry, parseApiTokens } from './auth/callers.js';
import { loadServiceConfig } from './config/service-config.js';

const PICKUP = { lat: 31.2304, lng: 121.4737 };
const DROPOFF = { lat: 31.1443, lng: 121.8083 };

interface Answer {
  status: number;
  body: Record<string, unknown>;
}

interface LogLine {
  version: number;
  event: string;
  fromState: string;
  toState: string;
  source: string;
  createdAt: string;
}

/** The bearer tokens the demo calls with: the passenger app's, and the payment service's for PAY. */
export interface DemoTokens {
  readonly client: string;
  readonly payment: string;
}

/** The first caller of each role among the service's callers. */
export function demoTokens(callers: readonly CallerEntry[]): DemoTokens {
  const of = (role: string) => {
    const caller = callers.find((c) => c.role === role);
    if (!caller) throw new Error(`the demo needs a ${role} caller in API_TOKENS`);
    return caller.token;
  };
  return { client: of('client'), payment: of('payment') };
}

export class DemoClient {
  constructor(
    private readonly baseUrl: string,
    private readonly tokens: DemoTokens,
  ) {}

  async call(method: string, path: string, body?: unknown, as: keyof DemoTokens = 'client'): Promise<Answer> {
    const authorization = { authorization: `Bearer ${this.tokens[as]}` };
    const response = await fetch(this.baseUrl + path, {
      method,
      headers: body === undefined ? authorization : { ...authorization, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  }

  async ok(method: string, path: string, body?: unknown, as: keyof DemoTokens = 'client'): Promise<Record<string, unknown>> {
    const answer = await this.call(method, path, body, as);
    if (answer.status >= 300) throw new Error(`${method} ${path} answered ${answer.status}: ${JSON.stringify(answer.body)}`);
    return answer.body;
  }

  async passenger(name: string): Promise<string> {
    const passengerId = `p-${randomUUID()}`;
    await this.ok('PUT', `/passengers/${passengerId}`, { name });
    return passengerId;
  }

  async create(bizCode: string, sceneId: string, passengerId: string): Promise<string> {
    const body = await this.ok('POST', '/orders', { requestId: randomUUID(), bizCode, sceneId, payload: { passengerId, pickup: PICKUP, dropoff: DROPOFF } });
    return body.orderId as string;
  }

  event(orderId: string, event: string, payload: Record<string, unknown> = {}): Promise<Record<string, unknown>> {
    // The payment service reports payments; the passenger and driver apps send the rest.
    return this.ok('POST', `/orders/${orderId}/events`, { event, requestId: randomUUID(), payload }, event === 'PAY' ? 'payment' : 'client');
  }

  async waitForState(orderId: string, state: string, timeoutMs = 15_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while ((await this.ok('GET', `/orders/${orderId}`)).state !== state) {
      if (Date.now() > deadline) throw new Error(`order ${orderId} did not reach ${state} within ${timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  async timeline(orderId: string): Promise<LogLine[]> {
    return (await this.ok('GET', `/orders/${orderId}/transitions`)) as unknown as LogLine[];
  }
}

/** One order's timeline, a line per transition: when, version, event, from -> to, who sent it. */
export function formatTimeline(title: string, orderId: string, lines: readonly LogLine[]): string {
  const start = lines.length > 0 ? Date.parse(lines[0].createdAt) : 0;
  const rows = lines.map((l) => {
    const at = `+${String(Date.parse(l.createdAt) - start).padStart(5)} ms`;
    return `  ${at}  v${l.version}  ${l.event.padEnd(16)} ${l.fromState.padEnd(22)} -> ${l.toState.padEnd(22)} (${l.source})`;
  });
  return [`${title}  order ${orderId}`, ...rows].join('\n');
}

/** ACCEPT to CONFIRM_FEE: the part of a ride two of the stories share. */
async function driveToFeeConfirmed(client: DemoClient, orderId: string, driverId: string, distanceKm: number): Promise<void> {
  for (const [event, payload] of [
    ['ACCEPT', { driverId }],
    ['ARRIVE', {}],
    ['START_TRIP', {}],
    ['END_TRIP', { distanceKm }],
    ['CONFIRM_FEE', {}],
  ] as const) {
    await client.event(orderId, event, payload);
  }
}

/** The three stories, through REST, each printed as its order's timeline. */
export async function runDemo(client: DemoClient, print: (text: string) => void = console.log): Promise<void> {
  const ride = await client.create('EXPRESS', 'APP', await client.passenger('Ann'));
  await driveToFeeConfirmed(client, ride, 'driver-7', 12.4);
  await client.event(ride, 'PAY', { paymentId: `pay-${randomUUID()}` });
  await client.event(ride, 'CLOSE');
  print(formatTimeline('A whole ride (EXPRESS@APP)', ride, await client.timeline(ride)));

  const cancelled = await client.create('TAXI', 'APP', await client.passenger('Bob'));
  await client.event(cancelled, 'ACCEPT', { driverId: 'driver-3' });
  await client.event(cancelled, 'ARRIVE');
  const cancel = await client.event(cancelled, 'CANCEL');
  await client.event(cancelled, 'PAY', { paymentId: `fee-${randomUUID()}` });
  const fee = (cancel.result as { cancellationFeeCents?: number } | null)?.cancellationFeeCents;
  print('');
  print(formatTimeline(`A cancellation after the driver arrived (fee ${fee} cents)`, cancelled, await client.timeline(cancelled)));

  const enterprise = await client.create('PREMIUM', 'ENTERPRISE', await client.passenger('Chen'));
  await driveToFeeConfirmed(client, enterprise, 'driver-9', 30);
  // Nobody calls PAY or CLOSE: the worker moves the order through its automatic states.
  await client.waitForState(enterprise, 'CLOSED');
  print('');
  print(formatTimeline('An ENTERPRISE ride the company pays by itself (PREMIUM@ENTERPRISE)', enterprise, await client.timeline(enterprise)));
}

async function main(): Promise<void> {
  if (process.env.DEMO_URL) {
    if (!process.env.API_TOKENS) throw new Error('DEMO_URL needs API_TOKENS: the callers of the service at DEMO_URL (a client and the payment service)');
    await runDemo(new DemoClient(process.env.DEMO_URL.replace(/\/$/, ''), demoTokens(parseApiTokens(process.env.API_TOKENS))));
    return;
  }
  // The timelines are the output: the service's own lines only from warnings up, unless LOG_LEVEL says otherwise.
  const config = { ...loadServiceConfig(), port: 0, ...(!process.env.LOG_LEVEL && { logLevel: 'warn' as const }) };
  console.log(
    config.mode === 'embedded'
      ? 'order-fsm demo: the taxi service, embedded (SQLite in memory, in-process lock and queue)\n'
      : 'order-fsm demo: the taxi service on the DATABASE_URL, REDIS_URL and AMQP_URL given\n',
  );
  const app = await createServiceApp(AppModule.register(config), config, { logger: ['error', 'warn'] });
  await app.listen(0, '127.0.0.1');
  const { port } = app.getHttpServer().address() as { port: number };
  try {
    await runDemo(new DemoClient(`http://127.0.0.1:${port}`, demoTokens(config.callers)));
    console.log('\nThe machine behind these timelines: `npm run fsm:diagram` draws it into docs/diagrams; a running service serves GET /fsm/diagram.');
  } finally {
    await app.close();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((error) => {
    Logger.error(error instanceof Error ? (error.stack ?? error.message) : String(error), 'Demo');
    process.exit(1);
  });
}
