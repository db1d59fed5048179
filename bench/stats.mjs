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
 * The engine and its baselines in alternating slices of the same run, so that the machine's noise (this
 * is a shared 2-core box) falls on all of them alike rather than on whichever ran last. Give it an
 * even number of rounds. `steps` maps a
 * name to a step; answers one summary per name, plus the engine's ratios to `baseline`.
 *
 * Each side first runs a slice of `warmUpMs` that is not counted (answered as `warmUp`: its events
 * and errors, for a caller that counts rows). Without it the first slice of a case, always the
 * engine's, ran on orders, connections and code paths the case had not touched yet, and was the
 * slowest of the case more often than not. `slices` is every counted slice in the order run, with
 * its events/s; BENCH_SEQUENCE=1 prints them.
 */
export async function sideBySide({ rounds, sliceMs, concurrency, keysPerClient, engine, baseline, warmUpMs = Math.min(1_000, sliceMs / 2), ...others }) {
  const steps = Object.entries({ engine, baseline, ...others });
  const runs = Object.fromEntries(steps.map(([name]) => [name, []]));
  const warmUp = {};
  for (const [name, step] of steps) {
    const slice = await drive({ concurrency, durationMs: warmUpMs, keysPerClient, step });
    warmUp[name] = { events: slice.latencies.length, errors: slice.errors };
  }
  const slices = [];
  // Rounds in mirrored order (A B C, C B A, ...): over each pair of rounds every side sits as early
  // as every other, so that the machine speeding up or slowing down through a case (the database
  // working off the case before, say) falls on all of them alike. With two sides it is A B, B A.
  for (let r = 0; r < rounds; r++) {
    const order = r % 2 === 0 ? steps : [...steps].reverse();
    for (const [name, step] of order) {
      const slice = await drive({ concurrency, durationMs: sliceMs, keysPerClient, step });
      runs[name].push(slice);
      slices.push([name, Math.round(slice.latencies.length / slice.seconds)]);
    }
  }
  if (process.env.BENCH_SEQUENCE) console.log(`  slices: ${slices.map(([n, r]) => `${n} ${r}`).join(', ')}`);
  const summaries = Object.fromEntries(Object.entries(runs).map(([name, list]) => [name, summarize(list)]));
  return {
    ...summaries,
    throughputRatio: summaries.engine.perSecond / summaries.baseline.perSecond,
    p99Ratio: summaries.engine.p99 / summaries.baseline.p99,
    warmUp,
    slices,
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
