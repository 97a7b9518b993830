/**
 * Adaptive batching (`adaptive: { targetLatency, percentile? }`): the model
 * of the batch time, the controller's law on a simulated device under a load
 * that steps from light to saturating to overload (against three fixed
 * settings on the same device and load), and how the effective cap and wait
 * show in stats, metrics, `tuning` and `reconfigure`.
 */
import { assert, describe, it } from "@effect/vitest"
import { Duration, Effect, Metric } from "effect"
import { Batcher, BatcherConfigError } from "effect-dynamic-batcher"
import { TestClock } from "effect/testing"
import { BatchTimeModel } from "../../src/internal/adaptive.ts"
import { settle } from "../support/harness.ts"
import type { PhaseResult } from "./simulation.ts"
import { deviceProcess, simulate } from "./simulation.ts"

describe("the batch-time model", () => {
  it("fits fixed + per-record time from batches of different sizes", () => {
    const model = new BatchTimeModel()
    for (const size of [10, 40, 20, 80, 5]) model.observe(size, 5 + 0.1 * size)
    assert.closeTo(model.fixed, 5, 1e-9)
    assert.closeTo(model.perRecord, 0.1, 1e-9)
    assert.closeTo(model.predict(200), 25, 1e-9)
    assert.strictEqual(model.largestWithin(25, 1, 512), 200)
    assert.strictEqual(model.largestWithin(1, 3, 512), 3, "no size fits: the lowest allowed")
  })

  it("keeps its slope when sizes stop varying", () => {
    const model = new BatchTimeModel()
    for (const size of [10, 40, 20, 80]) model.observe(size, 5 + 0.1 * size)
    for (let i = 0; i < 200; i++) model.observe(64, 5 + 0.1 * 64)
    assert.closeTo(model.perRecord, 0.1, 1e-9)
    assert.closeTo(model.fixed, 5, 1e-9)
  })

  it("follows a device that slowed down, within tens of batches", () => {
    const model = new BatchTimeModel()
    const sizes = [10, 40, 20, 80, 64]
    for (let i = 0; i < 50; i++) model.observe(sizes[i % 5], 5 + 0.1 * sizes[i % 5])
    for (let i = 0; i < 60; i++) model.observe(sizes[i % 5], 15 + 0.2 * sizes[i % 5])
    assert.closeTo(model.predict(64), 15 + 0.2 * 64, 1)
  })

  it("before two sizes apart, takes every millisecond as per-record and is not fitted", () => {
    const model = new BatchTimeModel()
    model.observe(4, 8)
    model.observe(4, 8)
    assert.isTrue(model.ready)
    assert.isFalse(model.fitted)
    assert.closeTo(model.predict(8), 16, 1e-9)
  })
})

/** A device whose batch of n takes 5 + 0.1·n ms: 200 records fit twice in 50 ms. */
const device = { fixedMs: 5, perRecordMs: 0.1 }
const target = 50
const fixedSettings = {
  "too small": { maxBatchSize: 16, batchTimeout: 2 },
  "about right": { maxBatchSize: 128, batchTimeout: 10 },
  "too large": { maxBatchSize: 512, batchTimeout: 100 }
} as const

const byPhase = (results: ReadonlyArray<ReadonlyArray<PhaseResult>>, phase: number) => results.map((r) => r[phase])

describe("adaptive batching on a simulated device (light → saturating → overload)", () => {
  for (const dispatch of ["full", "idle"] as const) {
    it.effect(
      `dispatch "${dispatch}": reaches 0.9x the best fixed throughput in every phase, and p99 under the target wherever a fixed setting has it`,
      () =>
        Effect.gen(function*() {
          const fixed = yield* Effect.forEach(
            Object.values(fixedSettings),
            (options) => simulate(device, { ...options, dispatch })
          )
          const adaptive = yield* simulate(device, {
            maxBatchSize: 512,
            batchTimeout: 100,
            dispatch,
            adaptive: { targetLatency: `${target} millis` }
          })
          for (let phase = 0; phase < adaptive.length; phase++) {
            const ours = adaptive[phase]
            const others = byPhase(fixed, phase)
            const best = Math.max(...others.map((r) => r.throughput))
            assert.isAtLeast(
              ours.throughput,
              0.9 * best,
              `${ours.name}: throughput ${ours.throughput} vs best fixed ${best}`
            )
            if (others.some((r) => r.latencyMs <= target)) {
              assert.isAtMost(
                ours.latencyMs,
                target,
                `${ours.name}: p99 ${ours.latencyMs} ms, a fixed setting meets ${target}`
              )
            }
          }
          // the overload phase is where no fixed setting meets the target: the cap went all the way up
          assert.isTrue(byPhase(fixed, 2).every((r) => r.latencyMs > target))
          assert.strictEqual(adaptive[2].cap, 512)
          // and under the saturating load the cap is the model's: 2·T(cap) = 50 ms
          assert.strictEqual(adaptive[1].cap, 200)
        }),
      60_000
    )
  }
})

describe("the effective cap and wait", () => {
  it.effect("show in stats and the gauges; tuning reports the configured bounds", () =>
    Effect.scoped(Effect.gen(function*() {
      const batcher = yield* Batcher.make({
        process: deviceProcess(device),
        maxBatchSize: 512,
        batchTimeout: 100,
        name: "adaptive-stats",
        adaptive: { targetLatency: "50 millis" }
      })
      let stats = yield* batcher.stats
      // before any batch: the full cap, and a wait of a quarter of the target
      assert.deepStrictEqual([stats.effectiveMaxBatchSize, stats.effectiveBatchTimeoutMs], [512, 12.5])
      // batches of different sizes teach the model; the cap comes down by a quarter per batch to the model's
      for (const size of [10, 40, 20, 30, 10, 20]) {
        yield* Effect.forkChild(batcher.submitAll(Array.from({ length: size }, (_, i) => i)))
        yield* settle()
        yield* TestClock.adjust(200)
        yield* settle()
      }
      stats = yield* batcher.stats
      assert.strictEqual(stats.effectiveMaxBatchSize, 200)
      const tuning = yield* batcher.tuning
      assert.deepStrictEqual([tuning.maxBatchSize, tuning.batchTimeout], [512, 100])
      const gauges = (yield* Metric.snapshot).filter((snapshot) =>
        snapshot.id.startsWith("batcher_effective_") && snapshot.attributes?.batcher === "adaptive-stats"
      )
      assert.deepStrictEqual(
        Object.fromEntries(gauges.map((snapshot) => [snapshot.id, (snapshot.state as { value: number }).value])),
        { batcher_effective_max_batch_size: 200, batcher_effective_batch_timeout_ms: stats.effectiveBatchTimeoutMs }
      )
    })))

  it.effect("reconfigure moves the bounds, and the cap in force stays within them", () =>
    Effect.scoped(Effect.gen(function*() {
      const batcher = yield* Batcher.make({
        process: deviceProcess(device),
        maxBatchSize: 512,
        batchTimeout: 100,
        adaptive: { targetLatency: "50 millis" }
      })
      yield* batcher.reconfigure({ maxBatchSize: 64, batchTimeout: 5 })
      const stats = yield* batcher.stats
      assert.deepStrictEqual([stats.effectiveMaxBatchSize, stats.effectiveBatchTimeoutMs], [64, 5])
      assert.deepStrictEqual((yield* batcher.tuning).maxBatchSize, 64)
      // batches never exceed the new bound
      const results = yield* Effect.forkChild(batcher.submitAll(Array.from({ length: 200 }, (_, i) => i)))
      yield* settle()
      yield* TestClock.adjust(Duration.seconds(1))
      yield* settle()
      assert.strictEqual(results.pollUnsafe()?._tag, "Success")
      const after = yield* batcher.stats
      assert.isAtMost(after.avgBatchSize, 64)
    })))

  it.effect("without adaptive, the stats show the knobs as configured", () =>
    Effect.scoped(Effect.gen(function*() {
      const batcher = yield* Batcher.make({ process: deviceProcess(device), maxBatchSize: 32, batchTimeout: 7 })
      const stats = yield* batcher.stats
      assert.deepStrictEqual([stats.effectiveMaxBatchSize, stats.effectiveBatchTimeoutMs], [32, 7])
      yield* batcher.reconfigure({ maxBatchSize: 16 })
      assert.strictEqual((yield* batcher.stats).effectiveMaxBatchSize, 16)
    })))
})

describe("invalid adaptive and admission options", () => {
  const cases: ReadonlyArray<readonly [string, Record<string, unknown>]> = [
    ["adaptive", { adaptive: 50 }],
    ["adaptive.targetLatency", { adaptive: { targetLatency: 0 } }],
    ["adaptive.targetLatency", { adaptive: { targetLatency: "soon" } }],
    ["adaptive.targetLatency", { adaptive: {} }],
    ["adaptive.percentile", { adaptive: { targetLatency: 50, percentile: 1 } }],
    ["adaptive.percentile", { adaptive: { targetLatency: 50, percentile: "p99" } }],
    ["admission", { admission: "optimistic" }]
  ]
  for (const [option, options] of cases) {
    it.effect(`${JSON.stringify(options)} fails make with BatcherConfigError naming ${option}`, () =>
      Effect.scoped(Effect.gen(function*() {
        const error = yield* Effect.flip(
          Batcher.make({ process: deviceProcess(device), ...(options as object) })
        )
        assert.instanceOf(error, BatcherConfigError)
        assert.strictEqual((error as BatcherConfigError).option, option)
      })))
  }
})
