import { RequestMethod } from '@nestjs/common';
import { loadServiceConfig } from '../apps/order-service/src/config/service-config.js';
import { loggerParams } from '../apps/order-service/src/infrastructure/logging.js';
import { waitFor } from './support/broker.js';
import { callerName } from './support/callers.js';
import { startServiceProcess, type ServiceProcess } from './support/service-process.js';
import { advance, createOrder, sendEvent, TO_FEE_CONFIRMED, type TestAppLike } from './support/taxi-client.js';

interface LogLine {
  level: number;
  msg: string;
  context?: string;
  orderId?: string;
  event?: string;
  requestId?: string;
  source?: string;
  caller?: string;
  processor?: string;
  req?: { id: number; method: string; url: string };
  res?: { statusCode: number };
}

describe('structured JSON logs', () => {
  let service: ServiceProcess;
  let client: TestAppLike;
  const lines = () =>
    service
      .output()
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map((line) => JSON.parse(line) as LogLine);

  beforeAll(async () => {
    // Embedded: this is about the lines, not the services. Debug shows the refusals too.
    service = await startServiceProcess({ DATABASE_URL: '', REDIS_URL: '', AMQP_URL: '', LOG_LEVEL: 'debug', WORKER_RETRY_DELAYS_MS: '100' });
    client = { http: service.http };
  });
  afterAll(async () => {
    await service?.stop();
  });

  it('writes every line as JSON, the first one saying where the orders go', async () => {
    // Nest's own start-up lines are buffered until the logger is in place, then written.
    await waitFor("Nest's start-up lines", async () => lines().some((l) => l.context === 'NestApplication'), 5_000);
    const all = lines(); // JSON.parse throws on a line that is not JSON
    expect(all[0]).toMatchObject({ context: 'Bootstrap', mode: 'embedded' });
    expect(all.some((l) => l.msg === `taxi order service listening on :${service.port}`)).toBe(true);
  });

  it('carries order id, event, request id and processor on every line about a transition, from REST and from the worker', async () => {
    const orderId = await createOrder(client, { bizCode: 'EXPRESS', sceneId: 'ENTERPRISE' });
    for (const [event, payload] of TO_FEE_CONFIRMED) await advance(client, orderId, event, payload);
    await waitFor('the order CLOSED', async () => (await client.http().get(`/orders/${orderId}`)).body.state === 'CLOSED', 20_000);
    await waitFor('the CLOSE line', async () => lines().some((l) => l.orderId === orderId && l.event === 'CLOSE'), 5_000);

    const about = lines().filter((l) => l.orderId === orderId);
    const applied = about.filter((l) => l.msg.startsWith('applied '));
    expect(applied.map((l) => [l.event, l.source, l.processor])).toEqual([
      ['CREATE', 'api', 'CreateOrderProcessor'],
      ['ACCEPT', 'api', 'AcceptOrderProcessor'],
      ['ARRIVE', 'api', 'ArriveProcessor'],
      ['START_TRIP', 'api', 'StartTripProcessor'],
      ['END_TRIP', 'api', 'EndTripProcessor'],
      ['CONFIRM_FEE', 'api', 'ConfirmFeeWithReviewProcessor'],
      ['AUTO_PAY', 'worker', 'CompanyAutoPayProcessor'],
      ['CLOSE', 'worker', 'CloseProcessor'],
    ]);
    for (const line of applied) expect(line.requestId).toEqual(expect.any(String));
    // Every line of a request names its caller; the worker's name none.
    expect(applied.map((l) => l.caller)).toEqual([...Array(6).fill(callerName('client')), undefined, undefined]);
    // Through REST the transition's line also names the request it belongs to.
    expect(applied.filter((l) => l.source === 'api').every((l) => l.req?.method === 'POST')).toBe(true);
  });

  it('logs a refusal with its code and the transition it refused, and the request line with its status', async () => {
    const orderId = await createOrder(client);
    const refused = await sendEvent(client, orderId, 'ARRIVE', {});
    expect(refused.status).toBe(409);
    await waitFor('the refusal lines', async () => lines().some((l) => l.orderId === orderId && l.msg.startsWith('refused ARRIVE')), 5_000);
    const refusal = lines().find((l) => l.orderId === orderId && l.msg.startsWith('refused ARRIVE'))!;
    expect(refusal).toMatchObject({ event: 'ARRIVE', source: 'api', msg: expect.stringContaining('NOT_FOUND_PROCESSOR') });
    // The request's own line is written once the answer has gone out.
    const requestLine = await waitFor('the request line', async () => lines().find((l) => l.req?.url === `/orders/${orderId}/events` && l.res !== undefined), 5_000);
    expect(requestLine).toMatchObject({ level: 40, msg: 'request completed', res: { statusCode: 409 }, caller: callerName('client') });
    expect(refusal.caller).toBe(callerName('client'));
  });
});

describe('request lines', () => {
  const autoLogging = (LOG_LEVEL: string) => (loggerParams(loadServiceConfig({ LOG_LEVEL })).pinoHttp as { autoLogging: unknown }).autoLogging;

  it('are written from info down, and switched off above it, 4xx and 5xx lines included (faults are logged by the exception filter)', () => {
    for (const level of ['trace', 'debug', 'info']) expect(autoLogging(level)).toEqual({ ignore: expect.any(Function) });
    for (const level of ['warn', 'error', 'fatal', 'silent']) expect(autoLogging(level)).toBe(false);
  });

  it('bind a request logger to every route from info down, and to none above it', () => {
    const forRoutes = (LOG_LEVEL: string) => loggerParams(loadServiceConfig({ LOG_LEVEL })).forRoutes;
    for (const level of ['trace', 'debug', 'info']) expect(forRoutes(level)).toEqual([{ path: '{*splat}', method: RequestMethod.ALL }]);
    for (const level of ['warn', 'error', 'fatal', 'silent']) expect(forRoutes(level)).toEqual([]);
  });
});
