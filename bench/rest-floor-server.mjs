// The floor behind a bare node:http server, for scenario 2: the same transition as bench/baseline.mjs,
// answered as JSON to the same load generator, so that what HTTP alone costs on this machine is
// measured rather than guessed. No framework, no validation beyond reading the request id. On
// PostgreSQL when DATABASE_URL says so, with the floor of baseline-postgres.mjs.
import http from 'node:http';
import { openBaseline } from './baseline.mjs';
import { openPostgresBaseline } from './baseline-postgres.mjs';
import { DATABASE_URL, POOL_SIZE, openRedis } from './setup.mjs';

const redis = await openRedis();
const baseline = await (/^postgres(ql)?:/.test(DATABASE_URL) ? openPostgresBaseline : openBaseline)(DATABASE_URL, POOL_SIZE, redis);
const ROUTE = /^\/orders\/([^/]+)\/events$/;

const server = http.createServer((req, res) => {
  const answer = (status, body) => {
    const text = JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
    res.end(text);
  };
  const match = req.method === 'POST' && ROUTE.exec(req.url ?? '');
  const chunks = [];
  req.on('data', (chunk) => chunks.push(chunk));
  req.on('end', async () => {
    if (!match) return answer(404, { code: 'NOT_FOUND' });
    try {
      const { requestId } = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      const orderId = match[1];
      answer(200, { orderId, ...(await baseline.transition(orderId, String(requestId).slice(0, 64))) });
    } catch (error) {
      answer(409, { code: 'REFUSED', message: error.message });
    }
  });
});
server.listen(0, '127.0.0.1', () => process.send?.({ port: server.address().port }));
process.on('message', async (message) => {
  if (message !== 'stop') return;
  server.close();
  await baseline.close();
  redis.disconnect();
  process.exit(0);
});
