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
 * The order of a case's slices (indexes into its sides), `slicesPerSide` of each, so that every side
 * comes after every other side as often as any other does, and about as early on average. A slice
 * pays for what the slice before it left (a heavy side leaves the database flushing and cleaning up,
 * a light one leaves it rested): on one hot order on PostgreSQL the waking floor ran 1,546 to 1,594
 * events/s right after the polling floor and 911 to 1,321 right after the engine, in one run.
 * - two sides: A B B A, repeated (each after the other once, after itself once; as early);
 * - three sides: A B C A C B C B A B A C, repeated: with the warm-up, which ends with C, every side
 *   comes after each of the other two twice, never after itself, at mean positions 5.25, 5.5, 5.75;
 * - more: rounds in mirrored order (A B C D, D C B A, ...).
 */
export function sliceOrder(sides, slicesPerSide) {
  const block = sides === 2 ? [0, 1, 1, 0] : sides === 3 ? [0, 1, 2, 0, 2, 1, 2, 1, 0, 1, 0, 2] : [...Array(sides).keys(), ...[...Array(sides).keys()].reverse()];
  const perBlock = block.length / sides;
  if (slicesPerSide % perBlock !== 0) throw new Error(`${sides} sides take slices in multiples of ${perBlock} a side, not ${slicesPerSide}`);
  return Array.from({ length: slicesPerSide / perBlock }, () => block).flat();
}

/**
 * The engine and its baselines in alternating slices of the same run, so that the machine's noise (this
 * is a shared 2-core box) falls on all of them alike rather than on whichever ran last. `steps` maps a
 * name to a step; `rounds` is the number of slices of each (a multiple of 2 with two sides, of 4 with
 * three: sliceOrder). Answers one summary per name, plus the engine's ratios to `baseline`.
 *
 * Each side first runs a slice of `warmUpMs` that is not counted (answered as `warmUp`: its events
 * and errors, for a caller that counts rows). Without it the first slice of a case, always the
 * engine's, ran on orders, connections and code paths the case had not touched yet. `slices` is
 * every counted slice in the order run, with its events/s; BENCH_SEQUENCE=1 prints them.
 */
export async function sideBySide({ rounds, sliceMs, concurrency, keysPerClient, engine, baseline, warmUpMs = Math.min(1_000, sliceMs / 2), ...others }) {
  const steps = Object.entries({ engine, baseline, ...others });
  const order = sliceOrder(steps.length, rounds);
  const runs = Object.fromEntries(steps.map(([name]) => [name, []]));
  const warmUp = {};
  for (const [name, step] of steps) {
    const slice = await drive({ concurrency, durationMs: warmUpMs, keysPerClient, step });
    warmUp[name] = { events: slice.latencies.length, errors: slice.errors };
  }
  const slices = [];
  for (const index of order) {
    const [name, step] = steps[index];
    const slice = await drive({ concurrency, durationMs: sliceMs, keysPerClient, step });
    runs[name].push(slice);
    slices.push([name, Math.round(slice.latencies.length / slice.seconds)]);
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
