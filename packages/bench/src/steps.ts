/**
 * W6, adaptive batching under a load that steps: the real-time counterpart
 * of the library's TestClock simulation (`test/adaptive/simulation.ts`).
 *
 * The device is W2's accelerator (`devices.ts`) at 5 ms + 0.1 ms per record,
 * one batch at a time, completing through a Promise resolved from its
 * timer / `setImmediate` callback. Records arrive open-loop at a fixed rate
 * per phase (light → saturating → overload): every millisecond or so the
 * arrival loop forks, for each record due by now, a fiber doing
 * `batcher.submit(record)`, whatever the batcher's state. A record's latency
 * is from its submit call to its result.
 *
 * A setting that cannot keep up builds a backlog that would take tens of
 * seconds to drain, so a run ends `drainMs` after the last phase: the
 * device is then released (`Accelerator.release`, batches take no time),
 * and a record that had no result by that cut-off counts as censored, its
 * latency the lower bound `cut-off − submit` (reported with the count).
 */
import { Effect, Fiber } from "effect"
import { Accelerator } from "./devices.ts"
import type { EffectBatcher, Peer } from "./peers/types.ts"
import { forEffect, onAccelerator } from "./processes.ts"
import type { Metrics, SeriesPoint } from "./spec.ts"
import type { RunPlan } from "./workloads.ts"

/** The device: a batch of n takes 5 + 0.1·n ms (as in the library's simulation). */
export const W6_FIXED_MS = 5
export const W6_PER_RECORD_MS = 0.1

/** The load phases: records arriving per millisecond (the simulation's rates). */
export const W6_PHASES = [
  { name: "light", rate: 0.5 },
  { name: "saturating", rate: 6 },
  { name: "overload", rate: 12 }
] as const

export type PhaseName = (typeof W6_PHASES)[number]["name"]

/** What one W6 run reports: per-phase metrics (`<phase>.<metric>`) and the time series. */
export interface StepsOutcome {
  readonly metrics: Metrics
  readonly series: ReadonlyArray<SeriesPoint>
}

const p99 = (values: Array<number>): number => {
  if (values.length === 0) return Number.NaN
  values.sort((a, b) => a - b)
  return values[Math.min(values.length - 1, Math.max(0, Math.ceil(0.99 * values.length) - 1))]
}

/** Records due by `t` ms after the start: the rate integrated over the phases. */
const dueBy = (t: number, phaseMs: number): number => {
  let due = 0
  for (let i = 0; i < W6_PHASES.length; i++) {
    const inPhase = Math.min(phaseMs, Math.max(0, t - i * phaseMs))
    due += W6_PHASES[i].rate * inPhase
  }
  return Math.floor(due)
}

const effectiveOf = (batcher: EffectBatcher<number, number>) =>
  batcher.effective ?? Effect.succeed({ cap: Number.NaN, waitMs: Number.NaN })

export const runSteps = (peer: Peer, plan: RunPlan): Promise<StepsOutcome> => {
  if (peer.kind !== "effect") throw new Error(`W6 runs Effect peers only, not ${peer.name}`)
  const timing = plan.spec.steps ?? { seriesWindowMs: 500, drainMs: 0 }
  const phaseMs = plan.durationMs
  const totalMs = phaseMs * W6_PHASES.length
  const cutoffMs = totalMs + timing.drainMs
  const accelerator = new Accelerator(W6_FIXED_MS, W6_PER_RECORD_MS)
  const process = forEffect("async", onAccelerator(accelerator))
  const options = { maxBatchSize: 0, windowMs: 0, maxQueueSize: 10_000_000 }
  return Effect.runPromise(Effect.scoped(Effect.gen(function*() {
    // The W6 peers set their own maxBatchSize and batchTimeout; the queue is unbounded in effect (open loop).
    const batcher = yield* peer.make<number, number>(process, options)
    const effective = effectiveOf(batcher)
    const submitted: Array<number> = []
    const completed: Array<number> = []
    const samples: Array<{ readonly cap: number; readonly waitMs: number }> = []
    const fibers: Array<Fiber.Fiber<void, unknown>> = []
    let wrong = 0
    let done = 0
    const t0 = performance.now()
    const submitOne = (record: number) =>
      Effect.suspend(() => {
        submitted[record] = performance.now() - t0
        return Effect.map(batcher.submit(record), (result) => {
          completed[record] = performance.now() - t0
          done++
          if (result !== record * 2) wrong++
        })
      })
    let next = 0
    for (;;) {
      const t = performance.now() - t0
      while (samples.length * timing.seriesWindowMs <= Math.min(t, totalMs) - timing.seriesWindowMs) {
        samples.push(yield* effective)
      }
      if (t >= totalMs) break
      const due = dueBy(t, phaseMs)
      while (next < due) fibers.push(yield* Effect.forkChild(submitOne(next++), { startImmediately: true }))
      yield* Effect.sleep(1)
    }
    while (samples.length * timing.seriesWindowMs < totalMs) samples.push(yield* effective)
    while (done < next && performance.now() - t0 < cutoffMs) yield* Effect.sleep(5)
    accelerator.release()
    yield* Fiber.joinAll(fibers)
    if (wrong > 0) throw new Error(`W6 ${peer.name}: ${wrong} records got a wrong result`)
    return summarize(submitted, completed, samples, phaseMs, cutoffMs, timing.seriesWindowMs)
  })))
}

/** Per phase and per window: throughput by completion time, p99 by submit time. */
const summarize = (
  submitted: ReadonlyArray<number>,
  completed: ReadonlyArray<number>,
  samples: ReadonlyArray<{ readonly cap: number; readonly waitMs: number }>,
  phaseMs: number,
  cutoffMs: number,
  windowMs: number
): StepsOutcome => {
  const totalMs = phaseMs * W6_PHASES.length
  const latency = (i: number) => completed[i] <= cutoffMs ? completed[i] - submitted[i] : cutoffMs - submitted[i]
  const metrics: Metrics = {}
  W6_PHASES.forEach((phase, p) => {
    const from = p * phaseMs
    const to = from + phaseMs
    const latencies: Array<number> = []
    let finished = 0
    let censored = 0
    for (let i = 0; i < submitted.length; i++) {
      if (completed[i] >= from && completed[i] < to) finished++
      if (submitted[i] >= from && submitted[i] < to) {
        latencies.push(latency(i))
        if (completed[i] > cutoffMs) censored++
      }
    }
    metrics[`${phase.name}.offeredPerSec`] = latencies.length / (phaseMs / 1000)
    metrics[`${phase.name}.recPerSec`] = finished / (phaseMs / 1000)
    metrics[`${phase.name}.censored`] = censored
    metrics[`${phase.name}.p99Ms`] = p99(latencies)
    const end = samples[Math.min(samples.length - 1, Math.ceil(to / windowMs) - 1)]
    metrics[`${phase.name}.cap`] = end.cap
    metrics[`${phase.name}.waitMs`] = end.waitMs
  })
  const windows = Math.ceil(totalMs / windowMs)
  const series: Array<SeriesPoint> = []
  for (let w = 0; w < windows; w++) {
    const from = w * windowMs
    const to = Math.min(totalMs, from + windowMs)
    const latencies: Array<number> = []
    let finished = 0
    for (let i = 0; i < submitted.length; i++) {
      if (completed[i] >= from && completed[i] < to) finished++
      if (submitted[i] >= from && submitted[i] < to) latencies.push(latency(i))
    }
    series.push({
      fromMs: from,
      phase: W6_PHASES[Math.min(W6_PHASES.length - 1, Math.floor(from / phaseMs))].name,
      recPerSec: finished / ((to - from) / 1000),
      p99Ms: p99(latencies),
      cap: samples[w].cap,
      waitMs: samples[w].waitMs
    })
  }
  return { metrics, series }
}
