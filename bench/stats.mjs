import { readFileSync } from 'node:fs';

export function percentile(sorted, p) {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

/** Summary of one or more runs: events/s over the time they ran, p50 and p99 in ms, errors. */
export function summarize(runs) {
  const latencies = runs.flatMap((r) => r.latencies).sort((a, b) => a - b);
  const seconds = runs.reduce((s, r) => s + r.seconds, 0);
  return {
    events: latencies.length,
    perSecond: latencies.length / seconds,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    errors: runs.reduce((s, r) => s + r.errors, 0),
  };
}

/** Runs `concurrency` loops over their own keys for `durationMs`; answers the raw latencies (ms), time and errors. */
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
  return { latencies, seconds: (performance.now() - started) / 1000, errors };
}

/**
 * The engine and its baselines in rotating slices of the same run, so that the machine's noise (this
 * is a shared 2-core box) falls on all of them alike rather than on whichever ran last. `steps` maps a
 * name to a step; answers one summary per name, plus the engine's ratios to `baseline`.
 */
export async function sideBySide({ rounds, sliceMs, concurrency, keysPerClient, engine, baseline, ...others }) {
  const steps = Object.entries({ engine, baseline, ...others });
  const runs = Object.fromEntries(steps.map(([name]) => [name, []]));
  for (let r = 0; r < rounds; r++) {
    for (let i = 0; i < steps.length; i++) {
      const [name, step] = steps[(i + r) % steps.length];
      runs[name].push(await drive({ concurrency, durationMs: sliceMs, keysPerClient, step }));
    }
  }
  const summaries = Object.fromEntries(Object.entries(runs).map(([name, list]) => [name, summarize(list)]));
  return {
    ...summaries,
    throughputRatio: summaries.engine.perSecond / summaries.baseline.perSecond,
    p99Ratio: summaries.engine.p99 / summaries.baseline.p99,
  };
}

/** How long a clock tick of /proc/PID/stat is (USER_HZ = 100). */
export const TICK_MS = 1000 / 100;

/** The CPU a process has used so far, user and system, in clock ticks (0 once it is gone). Linux only. */
export function ticks(pid) {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return Number(fields[11]) + Number(fields[12]); // utime + stime
  } catch {
    return 0; // gone
  }
}
