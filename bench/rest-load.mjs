// The HTTP load generator of scenario 2, in a process of its own: autocannon, one order per connection,
// a fresh requestId on every request. Answers autocannon's summary on stdout as JSON.
import { randomUUID } from 'node:crypto';
import autocannon from 'autocannon';

const { url, connections, durationS, orders, token } = JSON.parse(process.argv[2]);
let assigned = 0;
const request = (orderId) => ({
  method: 'POST',
  path: `/orders/${orderId}/events`,
  headers: { 'content-type': 'application/json', ...(token && { authorization: `Bearer ${token}` }) },
  setupRequest: (req) => ({ ...req, body: JSON.stringify({ event: 'FLIP', requestId: randomUUID() }) }),
});
const result = await autocannon({
  url,
  connections,
  duration: durationS,
  // Each connection keeps its own order (autocannon resets a request's context after every request).
  setupClient: (client) => client.setRequests([request(orders[assigned++ % orders.length])]),
  requests: [request(orders[0])],
});
process.stdout.write(JSON.stringify({
  requests: result.requests.total,
  seconds: result.duration,
  perSecond: result.requests.total / result.duration,
  p50: result.latency.p50,
  p99: result.latency.p99,
  non2xx: result.non2xx,
  errors: result.errors + result.timeouts,
}));
