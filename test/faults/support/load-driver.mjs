// The load of the fault suite, in a process of its own: real clients of the taxi service over HTTP.
// Every operation is written to the history (JSON lines) as it is invoked and as it ends: ok (2xx),
// fail (4xx: the service says nothing was applied) or unknown (5xx, a timeout, a dropped connection:
// it may or may not have been applied). An unknown operation is sent again with the same requestId,
// as a careful client would, until it ends or the run's grace runs out.
//
//   node load-driver.mjs '{"mode":"rides"|"storm", "urls":[...], "history":"file", ...}'
//
// Rides run for durationMs, or until the driver receives SIGUSR2, whichever comes first.
import { randomUUID } from 'node:crypto';
import { appendFileSync, writeFileSync } from 'node:fs';

const plan = JSON.parse(process.argv[2]);
const { urls, history } = plan;
writeFileSync(history, '');
const lines = [];
const record = (entry) => lines.push(JSON.stringify({ t: Date.now(), ...entry }));
const flush = () => {
  if (lines.length) appendFileSync(history, `${lines.splice(0).join('\n')}\n`);
};
const flusher = setInterval(flush, 200);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const counts = { ok: 0, fail: 0, unknown: 0 };

// The passenger app's token, of the callers the services were started with (API_TOKENS): it sends every event here.
const clientToken = (process.env.API_TOKENS ?? '').split(',').map((entry) => entry.trim().split(':')).find((parts) => parts[1] === 'client')?.slice(2).join(':');

/** One HTTP call: answers { type, status, body }. */
async function call(url, method, path, body) {
  try {
    const response = await fetch(`${url}${path}`, {
      method,
      headers: { 'content-type': 'application/json', authorization: `Bearer ${clientToken}` },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(plan.requestTimeoutMs ?? 10_000),
    });
    const text = await response.text();
    let parsed;
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = { raw: text.slice(0, 200) };
    }
    const type = response.status < 300 ? 'ok' : response.status < 500 ? 'fail' : 'unknown';
    return { type, status: response.status, body: parsed };
  } catch (error) {
    return { type: 'unknown', status: 0, body: { error: String(error?.cause?.code ?? error?.name ?? error) } };
  }
}

/** An operation, retried with the same requestId while its outcome is unknown. */
async function operation(op, { client, orderId, event, requestId, urlIndex }, method, path, body, giveUpAt) {
  for (let attempt = 1; ; attempt++) {
    const url = urls[(urlIndex + attempt - 1) % urls.length];
    record({ client, op, orderId, event, requestId, type: 'invoke', attempt });
    const r = await call(url, method, path, body);
    record({
      client, op, orderId: orderId ?? r.body?.orderId, event, requestId, type: r.type, attempt, status: r.status,
      code: r.body?.code, version: r.body?.version, toState: r.body?.toState ?? r.body?.state, replayed: r.body?.replayed,
    });
    if (r.type !== 'unknown' || Date.now() > giveUpAt) {
      counts[r.type]++;
      return r;
    }
    await sleep(200);
  }
}

const RIDE = [
  ['ACCEPT', { driverId: 'd-1' }],
  ['ARRIVE', {}],
  ['START_TRIP', {}],
  ['END_TRIP', { distanceKm: 10 }],
  ['CONFIRM_FEE', {}],
];

/** Whole ENTERPRISE rides (they pay and close through the workers) and APP rides cancelled on the way. */
async function rides() {
  let deadline = Date.now() + plan.durationMs;
  const giveUpAt = deadline + (plan.graceMs ?? 60_000);
  // SIGUSR2 ends the run early: no new ride starts, rides under way go on to their end.
  process.on('SIGUSR2', () => (deadline = Math.min(deadline, Date.now())));
  await Promise.all(Array.from({ length: plan.clients }, async (_, client) => {
    for (let ride = 0; Date.now() < deadline; ride++) {
      const urlIndex = (client + ride) % urls.length;
      const passengerId = `p-${randomUUID()}`;
      const put = await operation('passenger', { client, requestId: passengerId, urlIndex }, 'PUT', `/passengers/${passengerId}`, { name: 'Fault' }, giveUpAt);
      if (put.type !== 'ok') continue;
      const enterprise = ride % 3 !== 2;
      const createId = `c-${randomUUID()}`;
      const created = await operation('create', { client, event: 'CREATE', requestId: createId, urlIndex }, 'POST', '/orders', {
        requestId: createId, bizCode: 'EXPRESS', sceneId: enterprise ? 'ENTERPRISE' : 'APP',
        payload: { passengerId, pickup: { lat: 31.2304, lng: 121.4737 }, dropoff: { lat: 31.1443, lng: 121.8083 } },
      }, giveUpAt);
      if (created.type !== 'ok') continue;
      const orderId = created.body.orderId;
      const steps = enterprise ? RIDE : [RIDE[0], ['CANCEL', { reason: 'changed plans' }]];
      for (const [event, payload] of steps) {
        const requestId = `e-${randomUUID()}`;
        const r = await operation('event', { client, orderId, event, requestId, urlIndex }, 'POST', `/orders/${orderId}/events`, { event, requestId, payload }, giveUpAt);
        if (r.type !== 'ok') break;
      }
    }
  }));
}

/** Rounds of `width` concurrent conflicting ACCEPTs on one fresh order, spread over every instance. */
async function storm() {
  for (let round = 0; round < plan.rounds; round++) {
    const passengerId = `p-${randomUUID()}`;
    await call(urls[0], 'PUT', `/passengers/${passengerId}`, { name: 'Storm' });
    const createId = `c-${randomUUID()}`;
    const created = await call(urls[0], 'POST', '/orders', {
      requestId: createId, bizCode: 'EXPRESS', sceneId: 'APP',
      payload: { passengerId, pickup: { lat: 31.2304, lng: 121.4737 }, dropoff: { lat: 31.1443, lng: 121.8083 } },
    });
    if (created.type !== 'ok') throw new Error(`storm: create failed ${created.status} ${JSON.stringify(created.body)}`);
    const orderId = created.body.orderId;
    record({ client: -1, op: 'create', orderId, event: 'CREATE', requestId: createId, type: 'ok', status: 201, version: created.body.version, toState: created.body.toState });
    await Promise.all(Array.from({ length: plan.width }, (_, i) => {
      const requestId = `s-${randomUUID()}`;
      return operation('event', { client: i, orderId, event: 'ACCEPT', requestId, urlIndex: i }, 'POST', `/orders/${orderId}/events`, {
        event: 'ACCEPT', requestId, payload: { driverId: `d-${i}` },
      }, Date.now() + 30_000);
    }));
  }
}

await (plan.mode === 'storm' ? storm() : rides());
clearInterval(flusher);
flush();
process.stdout.write(JSON.stringify(counts));
