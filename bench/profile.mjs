// node --cpu-prof --cpu-prof-dir=bench/results bench/profile.mjs [--db=postgres] (after npm run build): the
// engine alone at concurrency 16 for a few seconds, to read where its CPU goes; prints the top functions itself.
import { readFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { openDataSource, openPostgres, openRedis, startEngine } from './setup.mjs';
import { drive, summarize } from './stats.mjs';

if (process.argv[2]?.endsWith('.cpuprofile')) {
  // node bench/profile.mjs FILE.cpuprofile: self time by function and by package.
  const profile = JSON.parse(readFileSync(process.argv[2], 'utf8'));
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map();
  let total = 0;
  profile.samples.forEach((id, i) => {
    const { functionName, url, lineNumber } = byId.get(id).callFrame;
    const key = `${functionName || '(anonymous)'} ${url.replace(/.*node_modules\//, '').replace(/.*\/dist\//, 'dist/')}:${lineNumber + 1}`;
    const dt = profile.timeDeltas[i] ?? 0;
    self.set(key, (self.get(key) ?? 0) + dt);
    total += dt;
  });
  const top = [...self].sort((a, b) => b[1] - a[1]).slice(0, 30);
  for (const [key, t] of top) console.log(`${((t / total) * 100).toFixed(1).padStart(5)}%  ${key}`);
  // Self time by package (node_modules' package, the project's dist/ tree, Node's own, or V8's).
  const packageOf = (url) => {
    if (!url) return '(native or V8)';
    // The innermost node_modules: a nested copy counts as its own package.
    const module = [...url.matchAll(/node_modules\/((?:@[^/]+\/)?[^/]+)/g)].pop();
    if (module) return module[1];
    if (url.startsWith('node:')) return 'node: internals';
    const dist = /\/dist\/(apps|libs)\/([^/]+)/.exec(url);
    return dist ? `${dist[1]}/${dist[2]}` : url.replace(/.*\//, '');
  };
  const byPackage = new Map();
  profile.samples.forEach((id, i) => {
    const { functionName, url } = byId.get(id).callFrame;
    if (functionName === '(idle)') return;
    const key = packageOf(url);
    byPackage.set(key, (byPackage.get(key) ?? 0) + (profile.timeDeltas[i] ?? 0));
  });
  const busy = [...byPackage.values()].reduce((a, b) => a + b, 0);
  console.log(`\nself time by package, of the busy time (${(busy / 1e6).toFixed(1)} s):`);
  for (const [key, t] of [...byPackage].sort((a, b) => b[1] - a[1]).slice(0, 20)) console.log(`${((t / busy) * 100).toFixed(1).padStart(5)}%  ${key}`);
  process.exit(0);
}

const postgres = ['--db=postgres', '--db=pg'].includes(process.argv[2]) || process.env.BENCH_DB === 'postgres';
const redis = await openRedis();
const { dataSource, store } = postgres ? await openPostgres() : { dataSource: await openDataSource() };
const { app, engine } = await startEngine(dataSource, redis, { store });
const run = `prof-${Date.now().toString(36)}`;
const ids = [];
for (let i = 0; i < 64; i++) ids.push((await engine.createOrder({ requestId: `${run}-c-${i}`, bizCode: 'BENCH', sceneId: 'S', orderId: `${run}-e-${i}` })).orderId);
const result = summarize([
  await drive({ concurrency: 16, durationMs: 6_000, keysPerClient: 4, step: (c, k) => engine.sendEvent({ eventType: 'FLIP', orderId: ids[c * 4 + k], requestId: `${run}-${randomUUID()}` }) }),
]);
console.log(`engine alone on ${postgres ? 'PostgreSQL' : 'MariaDB'}, c=16: ${result.perSecond.toFixed(0)}/s, p50 ${result.p50.toFixed(1)} ms, p99 ${result.p99.toFixed(1)} ms`);
for (const t of ['fsm_outbox', 'fsm_transition', 'fsm_order']) await dataSource.query(`DELETE FROM ${t} WHERE ${t === 'fsm_order' ? 'id' : 'order_id'} LIKE ${postgres ? '$1' : '?'}`, [`${run}-%`]);
await app.close();
redis.disconnect();
await dataSource.destroy();
if (process.execArgv.some((a) => a.startsWith('--cpu-prof'))) console.log('the profile is written at exit; read it with: node bench/profile.mjs FILE.cpuprofile');
