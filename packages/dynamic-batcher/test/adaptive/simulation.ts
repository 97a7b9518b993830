/**
 * A simulated device and load for adaptive batching, on the TestClock: a
 * batch of n records takes `fixedMs + perRecordMs·n`, and producers arrive
 * at a given rate per millisecond, phase after phase. Each phase reports
 * its throughput and its latency percentile (submit call to result).
 */
import { Clock, Duration, Effect, Fiber } from "effect"
import { Batcher } from "effect-dynamic-batcher"
import { TestClock } from "effect/testing"

export interface Device {
  readonly fixedMs: number
  readonly perRecordMs: number
}

export interface Phase {
  readonly name: string
  /** Records arriving per millisecond. */
  readonly rate: number
  readonly durationMs: number
}

export interface PhaseResult {
  readonly name: string
  /** Records completed per millisecond of the phase (by completion time). */
  readonly throughput: number
  /** The latency percentile of records submitted in the phase. */
  readonly latencyMs: number
  /** The effective cap at the end of the phase. */
  readonly cap: number
  readonly waitMs: number
}

export const deviceProcess = (device: Device) => (batch: ReadonlyArray<number>) =>
  Effect.as(Effect.sleep(Duration.millis(device.fixedMs + device.perRecordMs * batch.length)), batch)

const quantile = (values: Array<number>, p: number): number => {
  if (values.length === 0) return 0
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)]
}

/** Drives `batcher` through `phases`, 1 ms at a time; returns each phase's numbers. */
export const runPhases = (
  batcher: Batcher.Batcher<number, number>,
  phases: ReadonlyArray<Phase>,
  percentile = 0.99
): Effect.Effect<Array<PhaseResult>, unknown> =>
  Effect.gen(function*() {
    const latencies = phases.map(() => [] as Array<number>)
    const completions = phases.map(() => 0)
    let phaseIndex = 0
    const fibers: Array<Fiber.Fiber<void, unknown>> = []
    const results: Array<PhaseResult> = []
    let owed = 0
    for (; phaseIndex < phases.length; phaseIndex++) {
      const phase = phases[phaseIndex]
      const submittedIn = phaseIndex
      for (let t = 0; t < phase.durationMs; t++) {
        owed += phase.rate
        while (owed >= 1) {
          owed -= 1
          const fiber = yield* Effect.forkChild(
            Effect.gen(function*() {
              const start = yield* Clock.currentTimeMillis
              yield* batcher.submit(1)
              const end = yield* Clock.currentTimeMillis
              latencies[submittedIn].push(end - start)
              if (phaseIndex < phases.length) completions[phaseIndex]++
            }),
            { startImmediately: true }
          )
          fibers.push(fiber)
        }
        yield* TestClock.adjust(1)
      }
      const stats = yield* batcher.stats
      results.push({
        name: phase.name,
        throughput: 0,
        latencyMs: 0,
        cap: stats.effectiveMaxBatchSize,
        waitMs: stats.effectiveBatchTimeoutMs
      })
    }
    // Drain: what is left completes after the last phase (counted there).
    yield* TestClock.adjust(60_000)
    yield* Fiber.joinAll(fibers)
    return results.map((r, i) => ({
      ...r,
      throughput: completions[i] / phases[i].durationMs,
      latencyMs: quantile(latencies[i], percentile)
    }))
  })

export const phases: ReadonlyArray<Phase> = [
  { name: "light", rate: 0.5, durationMs: 3_000 },
  { name: "saturating", rate: 6, durationMs: 3_000 },
  { name: "overload", rate: 12, durationMs: 3_000 }
]

/** Runs `phases` through a new batcher with `options` on `device`. */
export const simulate = (device: Device, options: Batcher.CommonOptions<number>) =>
  Effect.scoped(Effect.gen(function*() {
    const batcher = yield* Batcher.make<number, number>({ ...options, process: deviceProcess(device) })
    return yield* runPhases(batcher, phases)
  }))
