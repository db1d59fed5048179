// One slice of scenario 3's cross-process variant, run alike by bench/run.mjs and by its second
// process (bench/hot-peer.mjs): `concurrency` clients on the same hot orders, started at the same
// instant in both processes, each request recorded with when it was sent (the wall clock, so that
// the two processes' arrivals compare) and the version it committed.
import { randomUUID } from 'node:crypto';
import { drive } from './stats.mjs';

export async function hotSlice({ side, engine, baseline, orders, concurrency, durationMs, startAt, run }) {
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, startAt - Date.now())));
  const served = [];
  const send =
    side === 'engine'
      ? (orderId) => engine.sendEvent({ eventType: 'FLIP', orderId, requestId: `${run}-${randomUUID()}`.slice(0, 64) })
      : (orderId) => baseline.transition(orderId, `${run}-b-${randomUUID()}`.slice(0, 64), 10_000);
  const result = await drive({
    concurrency,
    durationMs,
    keysPerClient: 1,
    step: async (c) => {
      const orderId = orders[c % orders.length];
      const sentAt = performance.timeOrigin + performance.now();
      const { version } = await send(orderId);
      served.push([orderId, sentAt, version]);
    },
  });
  return { ...result, served };
}

/** Requests that committed after a request on the same order sent later (by either process), of all served. */
export function overtaken(served) {
  const byOrder = new Map();
  for (const [orderId, sentAt, version] of served) {
    if (!byOrder.has(orderId)) byOrder.set(orderId, []);
    byOrder.get(orderId).push([sentAt, version]);
  }
  let late = 0;
  for (const list of byOrder.values()) {
    list.sort((a, b) => b[0] - a[0]);
    let lowestLater = Infinity;
    for (const [, version] of list) {
      if (version > lowestLater) late++;
      lowestLater = Math.min(lowestLater, version);
    }
  }
  return { overtaken: late, served: served.length, share: served.length ? late / served.length : NaN };
}
