import type { DestinationStream } from 'pino';
import { waitFor } from './support/broker.js';
import { callerName } from './support/callers.js';
import { createOrder, uid } from './support/taxi-client.js';
import { startTestApp, type TestApp } from './support/test-app.js';
import { testMachine, TestProcessorsModule } from './support/test-processors.js';

/**
 * The service's lines above info, in a file of its own: nestjs-pino keeps one root logger (and one
 * destination) per module registry, the first app's, and jest gives each spec file its own; here that
 * first app is the LOG_LEVEL=warn one, whatever other specs run before or after.
 */
interface LogLine {
  level: number;
  msg: string;
  context?: string;
  orderId?: string;
  requestId?: string;
  caller?: string;
  req?: { id: string };
  reqId?: string;
}

const lines: LogLine[] = [];
const destination: DestinationStream = { write: (chunk: string) => void lines.push(JSON.parse(chunk) as LogLine) };

const UUID = /^[\da-f]{8}-[\da-f]{4}-4[\da-f]{3}-[\da-f]{4}-[\da-f]{12}$/;

describe('a fault, followed through its lines above info (LOG_LEVEL=warn)', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp({ logLevel: 'warn', workerEnabled: false, relayEnabled: false, timersEnabled: false, sweeperEnabled: false }, {
      modules: [TestProcessorsModule],
      machine: testMachine,
      logDestination: destination,
    });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('binds no request logger and writes no request lines, still answers X-Request-Id, and logs a 500 at error with its stack, request id, caller, order and requestId', async () => {
    const orderId = await createOrder(t);
    const requestId = uid('throws');
    const failed = await t.http().post(`/orders/${orderId}/events`).set('x-request-id', 'fault-1').send({ event: 'TEST_THROWS', requestId, payload: {} });
    expect(failed.status).toBe(500);
    expect(failed.headers['x-request-id']).toBe('fault-1');
    const fault = await waitFor('the fault line', async () => lines.find((l) => l.level === 50 && l.msg.includes('secret internal detail')), 5_000).catch((e) => {
      throw new Error(`${e}\n${JSON.stringify(lines, null, 1)}`);
    });
    expect(fault).toMatchObject({ context: 'OrderFsmExceptionFilter', reqId: 'fault-1', caller: callerName('client'), orderId, requestId });
    expect(fault.msg).toContain('\n    at ');
    // No request logger: the fault line names the request itself, and there is no request line.
    expect(lines.filter((l) => l.req?.id === 'fault-1')).toEqual([]);
    // A refusal is an answer, logged (at info) on the request line only, which is off here.
    const unknown = await t.http().post(`/orders/${orderId}/events`).send({ event: 'ARRIVE', requestId: uid('req'), payload: {} });
    expect(unknown.status).toBe(409);
    expect(unknown.headers['x-request-id']).toMatch(UUID);
    expect(lines.filter((l) => l.reqId === unknown.headers['x-request-id'] || l.req?.id === unknown.headers['x-request-id'])).toEqual([]);
  });
});
