export function percentile(sorted, p) {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

/** Runs `concurrency` loops over their own keys for `durationMs`; answers events/s, p50, p99 (ms) and errors. */
export async function drive({ concurrency, durationMs, keysPerClient, step }) {
  const latencies = [];
  let errors = 0;
  const deadline = Date.now() + durationMs;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async (_, client) => {
      for (let i = 0; Date.now() < deadline; i++) {
        const t0 = performance.now();
        try {
          await step(client, i % keysPerClient, i);
          latencies.push(performance.now() - t0);
        } catch (error) {
          errors++;
          if (errors < 3) console.error(`  error: ${error.message}`);
        }
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  return { events: latencies.length, perSecond: latencies.length / seconds, p50: percentile(latencies, 50), p99: percentile(latencies, 99), errors };
}
