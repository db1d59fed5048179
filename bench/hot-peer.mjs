// The second process of scenario 3's cross-process variant (forked by bench/run.mjs): an engine and a
// floor of its own on the same database and Redis, running the slices it is sent (bench/hot-slice.mjs).
import { openBaseline } from './baseline.mjs';
import { openPostgresBaseline } from './baseline-postgres.mjs';
import { hotSlice } from './hot-slice.mjs';
import { DATABASE_URL, POOL_SIZE, POSTGRES_URL, openDataSource, openPostgres, openRedis, startEngine } from './setup.mjs';

const postgres = process.env.BENCH_DB === 'postgres';
const redis = await openRedis();
const { dataSource, store } = postgres ? await openPostgres() : { dataSource: await openDataSource() };
const { app, engine } = await startEngine(dataSource, redis, { store });
const baseline = postgres ? await openPostgresBaseline(POSTGRES_URL, POOL_SIZE, redis) : await openBaseline(DATABASE_URL, POOL_SIZE, redis);

process.on('message', async (message) => {
  if (message.close) {
    await baseline.close();
    await app.close();
    redis.disconnect();
    await dataSource.destroy();
    process.exit(0);
  }
  const { latencies, seconds, errors, served } = await hotSlice({ ...message, engine, baseline });
  process.send({ latencies, seconds, errors, served });
});
process.send({ ready: true });
