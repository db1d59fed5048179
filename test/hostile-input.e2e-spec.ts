import { advance, createOrder, newPassenger, uid } from './support/taxi-client.js';
import { startTestApp, type TestApp } from './support/test-app.js';
import { checksumTables as checksum, sql } from './support/database.js';

const SQL = "x' OR '1'='1'; DROP TABLE fsm_order; --";
const SCRIPT = '<script>alert(1)</script>';
const GEO = { pickup: { lat: 31.2, lng: 121.4 }, dropoff: { lat: 31.1, lng: 121.8 } };

interface Case {
  name: string;
  method: 'get' | 'post' | 'put' | 'delete';
  path: (ids: Fixtures) => string;
  body?: (ids: Fixtures) => unknown;
  /** Raw text sent as is, with this content type. */
  raw?: { type: string; text: string | ((ids: Fixtures) => string) };
  /** More request headers. */
  headers?: Record<string, string>;
  status: number;
  code: string;
  /** The checker's own reason, for CHECK_FAILED. */
  detail?: string;
  /** The field a VALIDATION_FAILED names (`details.fields[].field`), as the request spells it. */
  field?: string;
}

interface Fixtures {
  passengerId: string;
  created: string;
  cancelled: string;
}

const event = (e: unknown, extra: Record<string, unknown> = {}) => (ids: Fixtures) => ({ event: e, requestId: uid('h'), payload: {}, ...extra });
const create = (fields: Record<string, unknown>) => (ids: Fixtures) => ({
  requestId: uid('h'),
  bizCode: 'EXPRESS',
  sceneId: 'APP',
  payload: { passengerId: ids.passengerId, ...GEO },
  ...fields,
});
const onCreated = (ids: Fixtures) => `/orders/${ids.created}/events`;

const CASES: Case[] = [
  // The shape of the request.
  { name: 'malformed JSON', method: 'post', path: () => '/orders', raw: { type: 'application/json', text: '{"requestId": "r", ' }, status: 400, code: 'VALIDATION_FAILED' },
  { name: 'JSON that is a bare string', method: 'post', path: () => '/orders', raw: { type: 'application/json', text: '"hello"' }, status: 400, code: 'VALIDATION_FAILED' },
  { name: 'JSON that is an array', method: 'post', path: () => '/orders', raw: { type: 'application/json', text: '[1, 2]' }, status: 400, code: 'VALIDATION_FAILED' },
  { name: 'JSON null', method: 'post', path: () => '/orders', raw: { type: 'application/json', text: 'null' }, status: 400, code: 'VALIDATION_FAILED' },
  { name: 'an empty body', method: 'post', path: onCreated, raw: { type: 'application/json', text: '' }, status: 400, code: 'VALIDATION_FAILED' },
  { name: 'text/plain', method: 'post', path: () => '/orders', raw: { type: 'text/plain', text: '{"requestId":"r"}' }, status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' },
  { name: 'a form', method: 'post', path: onCreated, raw: { type: 'application/x-www-form-urlencoded', text: 'event=ACCEPT&requestId=r' }, status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' },
  { name: 'XML', method: 'put', path: () => `/passengers/${uid('p')}`, raw: { type: 'application/xml', text: '<name>x</name>' }, status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' },
  { name: 'a gzip Content-Encoding on a plain JSON body', method: 'post', path: onCreated, body: event('ACCEPT', { payload: { driverId: 'd-1' } }), headers: { 'content-encoding': 'gzip' }, status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' },
  { name: 'a br Content-Encoding on a new order', method: 'post', path: () => '/orders', body: create({}), headers: { 'content-encoding': 'br' }, status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' },
  { name: 'a body of 10 MB', method: 'post', path: onCreated, raw: { type: 'application/json', text: `{"event":"ACCEPT","requestId":"r","payload":{"x":"${'x'.repeat(10 * 1024 * 1024)}"}}` }, status: 413, code: 'PAYLOAD_TOO_LARGE' },
  // Missing, extra and mistyped fields.
  { name: 'no requestId', method: 'post', path: onCreated, body: () => ({ event: 'ACCEPT', payload: {} }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'no event', method: 'post', path: onCreated, body: () => ({ requestId: uid('h') }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'an extra field', method: 'post', path: onCreated, body: event('ACCEPT', { admin: true }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'an expected state that is null', method: 'post', path: onCreated, body: event('ACCEPT', { expectedState: null, payload: { driverId: 'd-1' } }), status: 400, code: 'VALIDATION_FAILED', field: 'expectedState' },
  // Keys named like Object.prototype's members: class-validator's whitelist took them as declared, the prototype-key stripping dropped constructor unsaid.
  { name: 'a toString field on an event', method: 'post', path: onCreated, body: event('ACCEPT', { payload: { driverId: 'd-1' }, toString: 'x' }), status: 400, code: 'VALIDATION_FAILED', field: 'toString' },
  { name: 'a constructor field on an event', method: 'post', path: onCreated, raw: { type: 'application/json', text: () => `{"event":"ACCEPT","requestId":"${uid('h')}","payload":{"driverId":"d-1"},"constructor":1}` }, status: 400, code: 'VALIDATION_FAILED', field: 'constructor' },
  { name: 'a hasOwnProperty field on a new order', method: 'post', path: () => '/orders', body: (ids) => ({ ...create({})(ids), hasOwnProperty: 1 }), status: 400, code: 'VALIDATION_FAILED', field: 'hasOwnProperty' },
  { name: 'a valueOf field on a passenger', method: 'put', path: () => `/passengers/${uid('p')}`, body: () => ({ name: 'Ann', valueOf: 'x' }), status: 400, code: 'VALIDATION_FAILED', field: 'valueOf' },
  { name: 'an event that is a number', method: 'post', path: onCreated, body: event(42), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'an event that is an object', method: 'post', path: onCreated, body: event({ $ne: null }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'a requestId that is an array', method: 'post', path: onCreated, body: () => ({ event: 'ACCEPT', requestId: ['a', 'b'] }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'a payload that is an array', method: 'post', path: onCreated, body: event('ACCEPT', { payload: [1] }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'a bizCode that is a number', method: 'post', path: () => '/orders', body: create({ bizCode: 7 }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'an unknown sceneId', method: 'post', path: () => '/orders', body: create({ sceneId: 'MOON' }), status: 400, code: 'VALIDATION_FAILED' },
  // Ids of 0, 65 and 10,000 characters, in the body and in the path.
  { name: 'a requestId of 0 characters', method: 'post', path: onCreated, body: () => ({ event: 'ACCEPT', requestId: '', payload: {} }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'a requestId of 65 characters', method: 'post', path: onCreated, body: () => ({ event: 'ACCEPT', requestId: 'r'.repeat(65), payload: {} }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'a requestId of 10,000 characters', method: 'post', path: onCreated, body: () => ({ event: 'ACCEPT', requestId: 'r'.repeat(10_000), payload: {} }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'an order id of 65 characters', method: 'post', path: () => `/orders/${'o'.repeat(65)}/events`, body: event('ACCEPT'), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'an order id of 10,000 characters', method: 'get', path: () => `/orders/${'o'.repeat(10_000)}`, status: 400, code: 'VALIDATION_FAILED' },
  { name: 'a passenger id of 65 characters', method: 'put', path: () => `/passengers/${'p'.repeat(65)}`, body: () => ({ name: 'n' }), status: 400, code: 'VALIDATION_FAILED' },
  // SQL and script fragments, unicode and control characters, in every id-like string.
  { name: 'SQL in the requestId', method: 'post', path: onCreated, body: () => ({ event: 'ACCEPT', requestId: SQL, payload: {} }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'SQL in the event', method: 'post', path: onCreated, body: event(SQL), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'SQL in the expected state', method: 'post', path: onCreated, body: event('ACCEPT', { expectedState: SQL }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'SQL in the order id', method: 'get', path: () => `/orders/${encodeURIComponent(SQL)}`, status: 400, code: 'VALIDATION_FAILED' },
  { name: 'SQL in the bizCode', method: 'post', path: () => '/orders', body: create({ bizCode: SQL }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'a script in the event', method: 'post', path: onCreated, body: event(SCRIPT), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'a script in the order id', method: 'get', path: () => `/orders/${encodeURIComponent(SCRIPT)}/transitions`, status: 400, code: 'VALIDATION_FAILED' },
  { name: 'a malformed percent-escape in the path', method: 'get', path: () => '/orders/%zz', status: 400, code: 'VALIDATION_FAILED' },
  { name: 'a truncated UTF-8 percent-escape in an event path', method: 'post', path: () => '/orders/%E0%A4%A/events', body: event('ACCEPT'), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'an order id of 20,000 characters (over the 16 KiB of headers)', method: 'get', path: () => `/orders/${'o'.repeat(20_000)}`, status: 431, code: 'HEADERS_TOO_LARGE' },
  { name: 'a path in the order id', method: 'get', path: () => `/orders/..%2F..%2Fetc%2Fpasswd`, status: 400, code: 'VALIDATION_FAILED' },
  { name: 'unicode in the requestId', method: 'post', path: onCreated, body: () => ({ event: 'ACCEPT', requestId: 'ré-🚕-請求', payload: {} }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'a NUL in the event', method: 'post', path: onCreated, body: event('ACCEPT\u0000'), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'a newline in the requestId', method: 'post', path: onCreated, body: () => ({ event: 'ACCEPT', requestId: 'a\nb', payload: {} }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'a right-to-left override in the order id', method: 'get', path: () => `/orders/${encodeURIComponent('abc\u202Edef')}`, status: 400, code: 'VALIDATION_FAILED' },
  // Numbers out of range, for the processors' own checkers.
  { name: 'a negative latitude beyond -90', method: 'post', path: () => '/orders', body: (ids) => create({ payload: { passengerId: ids.passengerId, pickup: { lat: -91, lng: 0 }, dropoff: GEO.dropoff } })(ids), status: 422, code: 'CHECK_FAILED', detail: 'INVALID_PICKUP' },
  { name: 'a huge longitude', method: 'post', path: () => '/orders', body: (ids) => create({ payload: { passengerId: ids.passengerId, pickup: { lat: 0, lng: 1e308 }, dropoff: GEO.dropoff } })(ids), status: 422, code: 'CHECK_FAILED', detail: 'INVALID_PICKUP' },
  { name: 'a latitude that overflows to Infinity', method: 'post', path: () => '/orders', raw: { type: 'application/json', text: (ids) => `{"requestId":"${uid('h')}","bizCode":"EXPRESS","sceneId":"APP","payload":{"passengerId":"${ids.passengerId}","pickup":{"lat":1e400,"lng":0},"dropoff":{"lat":1,"lng":1}}}` }, status: 422, code: 'CHECK_FAILED', detail: 'INVALID_PICKUP' },
  { name: 'a latitude that is a string', method: 'post', path: () => '/orders', body: (ids) => create({ payload: { passengerId: ids.passengerId, pickup: { lat: '31', lng: 121 }, dropoff: GEO.dropoff } })(ids), status: 422, code: 'CHECK_FAILED', detail: 'INVALID_PICKUP' },
  { name: 'a passenger id with SQL in the payload', method: 'post', path: () => '/orders', body: (ids) => create({ payload: { passengerId: SQL, ...GEO } })(ids), status: 422, code: 'CHECK_FAILED', detail: 'INVALID_PASSENGER_ID' },
  { name: 'a driver id with a script', method: 'post', path: onCreated, body: event('ACCEPT', { payload: { driverId: SCRIPT } }), status: 422, code: 'CHECK_FAILED', detail: 'INVALID_DRIVER_ID' },
  { name: 'a payload nested 2,000 deep', method: 'post', path: onCreated, raw: { type: 'application/json', text: () => `{"event":"ACCEPT","requestId":"${uid('h')}","payload":${'{"a":'.repeat(2_000)}1${'}'.repeat(2_000)}}` }, status: 400, code: 'VALIDATION_FAILED' },
  { name: '3,000 nested arrays in the payload', method: 'post', path: onCreated, raw: { type: 'application/json', text: () => `{"event":"ACCEPT","requestId":"${uid('h')}","payload":{"x":${'['.repeat(3_000)}${']'.repeat(3_000)}}}` }, status: 400, code: 'VALIDATION_FAILED' },
  { name: 'a body of 4,000 nested objects', method: 'post', path: () => '/orders', raw: { type: 'application/json', text: `${'{"a":'.repeat(4_000)}1${'}'.repeat(4_000)}` }, status: 400, code: 'VALIDATION_FAILED' },
  // Refused by the JSON parser itself (prototype poisoning), before anything reads the body.
  { name: 'a __proto__ key in the payload', method: 'post', path: onCreated, raw: { type: 'application/json', text: () => `{"event":"ACCEPT","requestId":"${uid('h')}","payload":{"__proto__":{"driverId":"d-1","isAdmin":true}}}` }, status: 400, code: 'VALIDATION_FAILED' },
  // Text with no UTF-8 form: a lone UTF-16 surrogate (MariaDB's JSON check and PostgreSQL's jsonb refuse it; a text column would get U+FFFD).
  { name: 'a lone surrogate in a payload string kept in the order', method: 'post', path: onCreated, raw: { type: 'application/json', text: () => `{"event":"CANCEL","requestId":"${uid('h')}","payload":{"reason":"late \\ud800"}}` }, status: 400, code: 'VALIDATION_FAILED' },
  { name: 'a lone surrogate in a payload key', method: 'post', path: onCreated, raw: { type: 'application/json', text: () => `{"event":"CANCEL","requestId":"${uid('h')}","payload":{"reason":"r","\\udc00":1}}` }, status: 400, code: 'VALIDATION_FAILED' },
  { name: 'a lone surrogate in a new order', method: 'post', path: () => '/orders', body: (ids) => create({ payload: { passengerId: ids.passengerId, ...GEO, note: '\ud83d' } })(ids), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'a lone surrogate in a passenger name', method: 'put', path: () => `/passengers/${uid('p')}`, raw: { type: 'application/json', text: '{"name":"Ann \\udfff"}' }, status: 400, code: 'VALIDATION_FAILED' },
  { name: 'a constructor.prototype key in the payload', method: 'post', path: onCreated, raw: { type: 'application/json', text: () => `{"event":"ACCEPT","requestId":"${uid('h')}","payload":{"constructor":{"prototype":{"isAdmin":true}}}}` }, status: 400, code: 'VALIDATION_FAILED' },
  // Events the order cannot take.
  { name: 'an unknown event', method: 'post', path: onCreated, body: event('TELEPORT'), status: 409, code: 'NOT_FOUND_PROCESSOR' },
  { name: 'an event this state does not take', method: 'post', path: onCreated, body: event('END_TRIP', { payload: { distanceKm: 3 } }), status: 409, code: 'NOT_FOUND_PROCESSOR' },
  { name: 'an event for a final order', method: 'post', path: (ids) => `/orders/${ids.cancelled}/events`, body: event('ACCEPT', { payload: { driverId: 'd-1' } }), status: 409, code: 'NOT_FOUND_PROCESSOR' },
  { name: 'an expected state that does not match', method: 'post', path: onCreated, body: event('ACCEPT', { expectedState: 'IN_TRIP', payload: { driverId: 'd-1' } }), status: 409, code: 'ORDER_STATE_NOT_MATCH' },
  { name: 'an order that does not exist', method: 'post', path: () => `/orders/${uid('nope')}/events`, body: event('ACCEPT', { payload: { driverId: 'd-1' } }), status: 404, code: 'ORDER_NOT_FOUND' },
  { name: 'a method the route does not have', method: 'delete', path: (ids) => `/orders/${ids.created}`, status: 405, code: 'METHOD_NOT_ALLOWED' },
];

describe('hostile input through REST: the documented status and code, never a 500 or a stack, and the database unchanged', () => {
  let t: TestApp;
  let ids: Fixtures;

  beforeAll(async () => {
    // Nothing in the background may write while a case runs: no relay, no worker, no timers or sweeps.
    t = await startTestApp({ relayEnabled: false, workerEnabled: false, timersEnabled: false, sweeperEnabled: false });
    const passengerId = await newPassenger(t);
    const created = await createOrder(t, { passengerId });
    const cancelled = await createOrder(t);
    await advance(t, cancelled, 'CANCEL', { reason: 'fixture' });
    ids = { passengerId: await newPassenger(t), created, cancelled };
  });
  afterAll(async () => {
    await t.close();
  });

  it.each(CASES.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    const before = await checksum(t.dataSource);
    let request = t.http()[c.method](c.path(ids));
    if (c.headers) request = request.set(c.headers);
    if (c.raw) request = request.set('content-type', c.raw.type).send(typeof c.raw.text === 'function' ? c.raw.text(ids) : c.raw.text);
    else if (c.body) request = request.send(c.body(ids) as object);
    const response = await request;
    expect({ status: response.status, code: response.body?.code }).toEqual({ status: c.status, code: c.code });
    expect(response.body).toMatchObject({ statusCode: c.status, message: expect.any(String) });
    if (c.detail) expect(response.body.details).toMatchObject({ reason: c.detail });
    if (c.field) expect(response.body.details.fields.map((f: { field: string }) => f.field)).toEqual([c.field]);
    expect(JSON.stringify(response.body)).not.toMatch(/\bat \S+ \(|\.ts:\d+|\.js:\d+|node_modules/);
    expect(await checksum(t.dataSource)).toBe(before);
  });

  it('free text is stored and answered byte for byte, never interpreted', async () => {
    const passengerId = uid('p');
    const name = `${SQL} ${SCRIPT} ré 🚕 請求 \u202E \t`;
    expect((await t.http().put(`/passengers/${passengerId}`).send({ name })).status).toBe(200);
    const [row] = await sql(t.dataSource, 'SELECT name FROM taxi_passenger WHERE id = ?', [passengerId]);
    expect(row.name).toBe(name);
  });
});
