import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber, Metric, Stream, Tracer } from "effect"
import { Batcher } from "effect-dynamic-batcher"
import { TestClock } from "effect/testing"
import { gated, recorder, settle } from "./utils.ts"

/** The snapshots of the `batcher_*` metrics of the batcher named `name`, by metric id. */
const metricsOf = (name: string) =>
  Effect.map(Metric.snapshot, (snapshots) => {
    const byId = new Map<string, Metric.Metric.Snapshot>()
    for (const snapshot of snapshots) {
      if (snapshot.id.startsWith("batcher_") && snapshot.attributes?.batcher === name) byId.set(snapshot.id, snapshot)
    }
    return byId
  })

const stateOf = (metrics: Map<string, Metric.Metric.Snapshot>, id: string): any => metrics.get(id)?.state

/** A tracer that keeps every span it makes. */
const recordingTracer = () => {
  const spans: Array<Tracer.NativeSpan> = []
  const tracer = Tracer.make({
    span: (options) => {
      const span = new Tracer.NativeSpan(options)
      spans.push(span)
      return span
    }
  })
  return { spans, tracer }
}

describe("observability", () => {
  it.effect("reports counters, histograms and gauges named batcher_*, with the batcher's name", () =>
    Effect.gen(function*() {
      const name = "metrics-test"
      const batcher = yield* Batcher.make({
        name,
        process: (batch: ReadonlyArray<number>) =>
          batch.includes(99) ? Effect.fail("bad batch") : Effect.as(Effect.sleep("20 millis"), batch),
        maxBatchSize: 3,
        batchTimeout: "10 millis",
        costEstimator: (n: number) => n
      })
      const ok = yield* Effect.forkChild(batcher.submitAll([1, 2, 3, 4]))
      const quitter = yield* Effect.forkChild(batcher.submit(5))
      yield* settle
      yield* Fiber.interrupt(quitter)
      yield* TestClock.adjust("100 millis")
      yield* Fiber.join(ok)
      const failing = yield* Effect.forkChild(Effect.flip(batcher.submit(99)))
      yield* TestClock.adjust("100 millis")
      yield* Fiber.join(failing)

      const metrics = yield* metricsOf(name)
      assert.strictEqual(stateOf(metrics, "batcher_records_submitted").count, 6)
      assert.strictEqual(stateOf(metrics, "batcher_records_completed").count, 5)
      assert.strictEqual(stateOf(metrics, "batcher_records_failed").count, 1)
      assert.strictEqual(stateOf(metrics, "batcher_records_withdrawn").count, 1)
      assert.strictEqual(stateOf(metrics, "batcher_batches").count, 3)
      const sizes = stateOf(metrics, "batcher_batch_size")
      assert.deepStrictEqual([sizes.count, sizes.sum, sizes.min, sizes.max], [3, 5, 1, 3])
      assert.strictEqual(stateOf(metrics, "batcher_batch_cost").sum, 1 + 2 + 3 + 4 + 99)
      const durations = stateOf(metrics, "batcher_process_duration_ms")
      assert.deepStrictEqual([durations.count, durations.max], [3, 20])
      const waits = stateOf(metrics, "batcher_queue_wait_ms")
      assert.deepStrictEqual(
        [waits.count, waits.min, waits.max, waits.sum],
        [3, 0, 20, 30],
        "per batch, its oldest record: [1,2,3] went at once, [4] waited 20 ms for the first batch, [99] 10 ms"
      )
      const latency = stateOf(metrics, "batcher_latency_ms")
      assert.deepStrictEqual(
        [latency.count, latency.min, latency.max, latency.sum],
        [3, 10, 40, 70],
        "[1,2,3] ran 20 ms; [4] waited 20 ms, then ran 20 ms; [99] failed at once after its 10 ms timeout"
      )
      assert.strictEqual(stateOf(metrics, "batcher_queue_size").value, 0)
      assert.strictEqual(stateOf(metrics, "batcher_in_flight").value, 0)
    }))

  it.effect("the gauges show a batch in flight while its process runs, and the records waiting behind it", () =>
    Effect.gen(function*() {
      const name = "gauges-test"
      const gate = gated((n: number) => n)
      const batcher = yield* Batcher.make({ name, process: gate.process, maxBatchSize: 2, prefetchBatches: 1 })
      const producers = yield* Effect.forkChild(batcher.submitAll([1, 2, 3, 4, 5]))
      yield* settle
      const during = yield* metricsOf(name)
      assert.strictEqual(stateOf(during, "batcher_in_flight").value, 2)
      assert.strictEqual(stateOf(during, "batcher_queue_size").value, 3, "one sealed batch and one record in the queue")
      yield* gate.release
      yield* TestClock.adjust("100 millis")
      assert.deepStrictEqual(yield* Fiber.join(producers), [1, 2, 3, 4, 5])
      const after = yield* metricsOf(name)
      assert.strictEqual(stateOf(after, "batcher_in_flight").value, 0)
      assert.strictEqual(stateOf(after, "batcher_queue_size").value, 0)
    }))

  it.effect("queue wait counts from each batch's oldest record, also when its records arrived at different times", () =>
    Effect.gen(function*() {
      const name = "arrivals-test"
      const batcher = yield* Batcher.make({
        name,
        process: (batch: ReadonlyArray<number>) => Effect.as(Effect.sleep("20 millis"), batch),
        maxBatchSize: 2,
        prefetchBatches: 1,
        batchTimeout: "1 hour"
      })
      const first = yield* Effect.forkChild(batcher.submitAll([1, 2, 3, 4, 5]))
      yield* settle
      yield* TestClock.adjust("5 millis")
      const late = yield* Effect.forkChild(batcher.submit(6))
      yield* settle
      yield* TestClock.adjust("100 millis")
      yield* Fiber.join(first)
      yield* Fiber.join(late)
      const waits = stateOf(yield* metricsOf(name), "batcher_queue_wait_ms")
      assert.deepStrictEqual(
        [waits.count, waits.min, waits.max, waits.sum],
        [3, 0, 40, 60],
        "[1,2] at once, [3,4] after 20 ms, [5,6] after 40 ms: 5 arrived at 0, 6 only at 5 ms"
      )
    }))

  it.effect("runs each batch in a Batcher.process span linked to every producer's span", () =>
    Effect.gen(function*() {
      const { spans, tracer } = recordingTracer()
      const program = Effect.gen(function*() {
        const { process } = recorder((n: number) => n)
        const batcher = yield* Batcher.make({ process, name: "traced", maxBatchSize: 2, batchTimeout: "1 hour" })
        yield* Effect.all([
          batcher.submit(1).pipe(Effect.withSpan("producer-a")),
          batcher.submit(2).pipe(Effect.withSpan("producer-b"))
        ], { concurrency: "unbounded" })
      })
      yield* program.pipe(Effect.withTracer(tracer))
      const batchSpan = spans.find((span) => span.name === "Batcher.process")
      assert.isDefined(batchSpan)
      const producers = spans.filter((span) => span.name.startsWith("producer-"))
      assert.strictEqual(producers.length, 2)
      assert.sameMembers(batchSpan!.links.map((link) => link.span), producers)
      assert.strictEqual(batchSpan!.attributes.get("batcher.batch_size"), 2)
      assert.strictEqual(batchSpan!.attributes.get("batcher.batch_cost"), 2)
      assert.strictEqual(batchSpan!.attributes.get("batcher.name"), "traced")
    }))

  it.effect("a keyed batch's span carries its key as batcher.group; a batch without keys has none", () =>
    Effect.gen(function*() {
      const { spans, tracer } = recordingTracer()
      const program = Effect.gen(function*() {
        const { process } = recorder((s: string) => s)
        const keyed = yield* Batcher.make({ process, groupBy: (s: string) => s[0], maxBatchSize: 2 })
        yield* Effect.all([keyed.submit("a1"), keyed.submit("a2"), keyed.submit("b1"), keyed.submit("b2")], {
          concurrency: "unbounded"
        })
        const plain = yield* Batcher.make({ process, maxBatchSize: 1 })
        yield* plain.submit("c")
      })
      yield* program.pipe(Effect.withTracer(tracer))
      const groups = spans.filter((span) => span.name === "Batcher.process").map((span) =>
        span.attributes.get("batcher.group")
      )
      assert.deepStrictEqual(groups, ["a", "b", undefined])
    }))

  it.effect("with an exporting tracer, a batch gets its span even when no producer has one", () =>
    Effect.gen(function*() {
      const names: Array<string> = []
      const tracer = Tracer.make({
        span: (options) => {
          names.push(options.name)
          return new Tracer.NativeSpan(options)
        }
      })
      const program = Effect.gen(function*() {
        const { process } = recorder((n: number) => n)
        const batcher = yield* Batcher.make({ process, maxBatchSize: 2 })
        yield* Effect.all([batcher.submit(1), batcher.submit(2)], { concurrency: "unbounded" })
      })
      yield* program.pipe(Effect.withTracer(tracer))
      assert.deepStrictEqual(names, ["Batcher.process"])
    }))

  it.effect("with Effect's built-in tracer, a batch has a span only to link producer spans", () =>
    Effect.gen(function*() {
      const seen: Array<string | undefined> = []
      const batcher = yield* Batcher.make({
        process: (batch: ReadonlyArray<number>) =>
          Effect.map(Effect.option(Effect.currentSpan), (span) => {
            seen.push(span._tag === "Some" ? span.value.name : undefined)
            return batch
          }),
        maxBatchSize: 2
      })
      yield* Effect.all([batcher.submit(1), batcher.submit(2)], { concurrency: "unbounded" })
      yield* Effect.all([
        batcher.submit(3).pipe(Effect.withSpan("producer")),
        batcher.submit(4)
      ], { concurrency: "unbounded" })
      assert.deepStrictEqual(
        seen,
        [undefined, "Batcher.process"],
        "no span for untraced producers: it would go nowhere"
      )
    }))

  it.effect("statsChanges streams the current stats, a snapshot per batch, and ends at shutdown", () =>
    Effect.gen(function*() {
      const { process } = recorder((n: number) => n)
      const batcher = yield* Batcher.make({ process, maxBatchSize: 2 })
      const seen = yield* Effect.forkChild(Stream.runCollect(batcher.statsChanges))
      yield* settle
      yield* batcher.submitAll([1, 2, 3, 4])
      yield* batcher.shutdown
      const snapshots = yield* Fiber.join(seen)
      assert.deepStrictEqual(snapshots.map((stats) => stats.totalCompleted), [0, 2, 4, 4])
    }))
})
