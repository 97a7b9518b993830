/**
 * No leaks: a closed batcher leaves no fiber, no timer and no heap behind.
 *
 * These tests run on the real clock (they measure the real runtime), with
 * short timeouts only. `gc` comes from `--expose-gc` when vitest was started
 * with it, else it is switched on at run time through V8's flags.
 */
import { assert, describe, it } from "@effect/vitest"
import { Context, Deferred, Effect, Exit, Fiber, Layer, Metric, Scope, Stream } from "effect"
import { Batcher } from "effect-dynamic-batcher"
import { BatcherAlreadyRunningError, DynamicBatcher } from "effect-dynamic-batcher/promise"
import async_hooks from "node:async_hooks"
import { fileURLToPath } from "node:url"
import v8 from "node:v8"
import vm from "node:vm"

const gc: () => void = (() => {
  const exposed = (globalThis as { gc?: () => void }).gc
  if (typeof exposed === "function") return exposed
  v8.setFlagsFromString("--expose-gc")
  return vm.runInNewContext("gc") as () => void
})()

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve))

/** Heap used after a thorough collection (WeakRefs and finalizers get a turn in between). */
const settledHeap = async (): Promise<number> => {
  for (let i = 0; i < 4; i++) {
    gc()
    await nextTurn()
  }
  return process.memoryUsage().heapUsed
}

/** Counts the fibers forked under it that are still alive. */
const makeFiberCounter = () => {
  const counter = { started: 0, active: 0 }
  const service: Metric.FiberRuntimeMetricsService = {
    recordFiberStart: () => {
      counter.started++
      counter.active++
    },
    recordFiberEnd: () => {
      counter.active--
    }
  }
  return {
    counter,
    track: <A, E, R>(effect: Effect.Effect<A, E, R>) =>
      Effect.provideService(effect, Metric.FiberRuntimeMetrics, service)
  }
}

/**
 * Counts, by type, the timers and handles created while it was started that
 * are still alive when it is stopped: the scenario's own. A diff of the whole
 * process's resources (`process.getActiveResourcesInfo()` before and after)
 * was flaky: vitest keeps a throttled reporter timer of its own (100 ms) that
 * may be pending before a scenario and fire in its middle. Resources the test
 * runner makes (their creator is a vitest module) are not the scenario's.
 */
const makeResourceTracker = () => {
  const alive = new Map<number, string>()
  const hook = async_hooks.createHook({
    init(asyncId, type) {
      if (keepsEventLoopAlive(type) && !createdByTestRunner()) alive.set(asyncId, type)
    },
    destroy(asyncId) {
      alive.delete(asyncId)
    }
  })
  return {
    start: () => void hook.enable(),
    /** The scenario's resources still alive, by type. */
    stop: (): Record<string, number> => {
      hook.disable()
      const counts: Record<string, number> = {}
      for (const type of alive.values()) counts[type] = (counts[type] ?? 0) + 1
      return counts
    }
  }
}

/**
 * Whether an async resource of `type` is a timer, a handle or a request of
 * Node's (`TCPWRAP`, `FSREQCALLBACK`, …: Node's own types are upper case):
 * not a promise, not an immediate (it runs on this turn), not a JavaScript
 * `AsyncResource` such as Effect's per-fiber `"effect/Fiber"` (fibers are
 * counted by `makeFiberCounter`).
 */
const keepsEventLoopAlive = (type: string): boolean =>
  type === "Timeout" || (type !== "PROMISE" && /^[A-Z0-9_]+$/.test(type))

/**
 * Whether the resource being initialised was made by vitest: its creator, the
 * first frame outside Node's own code and this file (the hook), is in a
 * vitest module.
 */
const createdByTestRunner = (): boolean => {
  const limit = Error.stackTraceLimit
  Error.stackTraceLimit = 30
  const stack = new Error().stack!
  Error.stackTraceLimit = limit
  const creator = stack.split("\n").slice(1).find((frame) =>
    !frame.includes("node:") && !frame.includes("(<anonymous>)") && !frame.includes(thisFile)
  )
  return creator !== undefined && /[\\/]vitest[\\/]dist[\\/]/.test(creator)
}

const thisFile = fileURLToPath(import.meta.url)

const RECORDS = 100_000

/** make → RECORDS records from 2,000 concurrent producers (1% interrupted, 2% of batches failing) → close. */
const cycle = Effect.gen(function*() {
  let calls = 0
  const batcher = yield* Batcher.make({
    process: (batch: ReadonlyArray<number>) =>
      ++calls % 50 === 0 ? Effect.fail("batch failed" as const) : Effect.succeed(batch.map((n) => n * 2)),
    maxBatchSize: 256,
    batchTimeout: "1 millis",
    maxQueueSize: 5_000
  })
  let ok = 0
  let failed = 0
  yield* Effect.forEach(
    Array.from({ length: RECORDS }, (_, i) => i),
    (n) =>
      n % 100 === 0
        ? Effect.flatMap(Effect.forkChild(batcher.submit(n)), (fiber) => Fiber.interrupt(fiber))
        : Effect.matchEffect(batcher.submit(n), {
          onSuccess: () => Effect.sync(() => ok++),
          onFailure: () => Effect.sync(() => failed++)
        }),
    { concurrency: 2_000, discard: true }
  )
  const stats = yield* batcher.stats
  return { ok, failed, stats }
}).pipe(Effect.scoped)

describe("leaks", () => {
  it("10 cycles of make → 100,000 records → close keep the heap within 5% of its baseline", async () => {
    const { counter, track } = makeFiberCounter()
    await Effect.runPromise(track(cycle)) // warm-up: JIT, module state
    const baseline = await settledHeap()
    const heaps: Array<number> = []
    for (let i = 0; i < 10; i++) {
      const { ok, failed, stats } = await Effect.runPromise(track(cycle))
      assert.strictEqual(
        ok + failed + stats.totalWithdrawn + (stats.totalCompleted - ok - failed),
        stats.totalSubmitted
      )
      assert.strictEqual(stats.queueSize, 0)
      heaps.push(await settledHeap())
    }
    assert.isAbove(counter.started, 10 * RECORDS, "the counter saw the producers' and batchers' fibers")
    assert.strictEqual(counter.active, 0, "every fiber forked by the batchers has ended")
    const last = heaps[heaps.length - 1]
    const mb = (n: number) => `${(n / 2 ** 20).toFixed(1)} MB`
    console.log(`heap baseline ${mb(baseline)}, after each cycle: ${heaps.map(mb).join(", ")}`)
    assert.isBelow(last, baseline * 1.05, `heap ${mb(last)} grew more than 5% over its baseline ${mb(baseline)}`)
  }, 120_000)

  describe("no fiber or timer survives a closed batcher", () => {
    const scenarios: ReadonlyArray<readonly [string, Effect.Effect<void, unknown, Scope.Scope>]> = [
      [
        "graceful close with records waiting for the batch timeout",
        Effect.gen(function*() {
          const batcher = yield* Batcher.make({
            process: (batch: ReadonlyArray<number>) => Effect.succeed(batch),
            batchTimeout: "1 hour"
          })
          yield* batcher.offerAll([1, 2, 3])
        })
      ],
      [
        "close while process is slow",
        Effect.gen(function*() {
          const batcher = yield* Batcher.make({
            process: (batch: ReadonlyArray<number>) => Effect.as(Effect.sleep("20 millis"), batch),
            batchTimeout: 0
          })
          yield* batcher.offerAll([1, 2, 3])
          yield* Effect.sleep("5 millis")
        })
      ],
      [
        "close after shutdownTimeout gave up on a process that never returns",
        Effect.gen(function*() {
          const batcher = yield* Batcher.make({
            process: (_: ReadonlyArray<number>) => Effect.never,
            batchTimeout: 0,
            shutdownTimeout: "20 millis"
          })
          yield* batcher.offerAll([1, 2, 3])
          yield* Effect.sleep("5 millis")
        })
      ],
      [
        "close after a shutdown started from inside process",
        Effect.gen(function*() {
          const ref: { batcher?: Batcher.Batcher<number, number> } = {}
          const batcher = yield* Batcher.make({
            process: (batch: ReadonlyArray<number>) => Effect.as(ref.batcher!.shutdown, batch),
            batchTimeout: 0
          })
          ref.batcher = batcher
          yield* batcher.submit(1)
        })
      ],
      [
        "close after producers were interrupted on a full queue and in the open batch",
        Effect.gen(function*() {
          const batcher = yield* Batcher.make({
            process: (batch: ReadonlyArray<number>) => Effect.as(Effect.sleep("10 millis"), batch),
            maxQueueSize: 2,
            maxBatchSize: 2,
            prefetchBatches: 1,
            batchTimeout: "1 hour"
          })
          const fibers = yield* Effect.forEach([1, 2, 3, 4, 5, 6, 7, 8], (n) => Effect.forkChild(batcher.submit(n)))
          yield* Effect.sleep("2 millis")
          yield* Fiber.interruptAll(fibers)
        })
      ],
      [
        "the program fails while records are in flight",
        Effect.gen(function*() {
          const batcher = yield* Batcher.make({
            process: (batch: ReadonlyArray<number>) => Effect.as(Effect.sleep("10 millis"), batch),
            batchTimeout: "1 millis"
          })
          yield* batcher.offerAll([1, 2, 3])
          yield* Effect.sleep("3 millis")
          return yield* Effect.fail("the program failed")
        })
      ],
      [
        "a statsChanges subscriber (detached) ends when the batcher closes",
        Effect.gen(function*() {
          const batcher = yield* Batcher.make({
            process: (batch: ReadonlyArray<number>) => Effect.succeed(batch),
            batchTimeout: "1 millis"
          })
          yield* Effect.forkDetach(Stream.runDrain(batcher.statsChanges))
          yield* batcher.submitAll([1, 2, 3])
        })
      ],
      [
        "a layer built and released",
        Effect.gen(function*() {
          class Doubler extends Context.Service<Doubler, Batcher.Batcher<number, number>>()("leaks/Doubler") {}
          const layer = Batcher.layer(Doubler, {
            process: (batch: ReadonlyArray<number>) => Effect.succeed(batch.map((n) => n * 2)),
            batchTimeout: "1 millis"
          })
          const result = yield* Effect.provide(Batcher.submit(Doubler, 21), layer)
          assert.strictEqual(result, 42)
        })
      ]
    ]

    for (const [name, scenario] of scenarios) {
      it(name, async () => {
        const { counter, track } = makeFiberCounter()
        const resources = makeResourceTracker()
        resources.start()
        let left: Record<string, number>
        try {
          const exit = await Effect.runPromiseExit(track(Effect.scoped(scenario)))
          if (name.includes("fails")) assert.isTrue(Exit.isFailure(exit))
          else assert.isTrue(Exit.isSuccess(exit), String(exit))
          await nextTurn()
        } finally {
          left = resources.stop()
        }
        assert.isAtLeast(counter.started, 2, "the counter saw the batcher's two loops start")
        assert.strictEqual(counter.active, 0, `${counter.active} of ${counter.started} fibers still alive`)
        assert.deepStrictEqual(left, {}, "no timer or handle the scenario made is left")
      })
    }
  })

  it("a closed batcher becomes garbage (nothing keeps it reachable)", async () => {
    const refs = await Effect.runPromise(Effect.gen(function*() {
      const scope = yield* Scope.make()
      const batcher = yield* Batcher.make({
        process: (batch: ReadonlyArray<{ readonly payload: Uint8Array }>) => Effect.succeed(batch.map(() => 1)),
        batchTimeout: "1 millis"
      }).pipe(Scope.provide(scope))
      const record = { payload: new Uint8Array(1024) }
      yield* batcher.submitAll([record, { payload: new Uint8Array(1024) }])
      yield* Scope.close(scope, Exit.void)
      return { batcher: new WeakRef(batcher), record: new WeakRef(record) }
    }))
    await settledHeap()
    assert.isUndefined(refs.batcher.deref(), "the batcher was collected")
    assert.isUndefined(refs.record.deref(), "its records were collected")
  })

  it("a delivered offer lets go of its record while the producer still holds the Deferred", async () => {
    const { deferred, record } = await Effect.runPromise(Effect.scoped(Effect.gen(function*() {
      const batcher = yield* Batcher.make({
        process: (batch: ReadonlyArray<{ readonly payload: Uint8Array }>) => Effect.succeed(batch.map(() => 1)),
        maxBatchSize: 1
      })
      const record = { payload: new Uint8Array(1024) }
      const deferred = yield* batcher.offer(record)
      yield* Deferred.await(deferred)
      return { deferred, record: new WeakRef(record) }
    })))
    await settledHeap()
    assert.isUndefined(record.deref(), "the record was collected")
    assert.strictEqual(await Effect.runPromise(Deferred.await(deferred)), 1, "the Deferred keeps its result")
  })

  it("an idle batcher, still open, keeps no reference to the records it processed or the results it delivered", async () => {
    const scope = Effect.runSync(Scope.make())
    const batcher = await Effect.runPromise(
      Batcher.make({
        process: (batch: ReadonlyArray<{ readonly payload: Uint8Array }>) =>
          Effect.succeed(batch.map(() => ({ embedding: new Float64Array(128) }))),
        maxBatchSize: 2
      }).pipe(Scope.provide(scope))
    )
    const refs = await Effect.runPromise(Effect.gen(function*() {
      const record = { payload: new Uint8Array(1024) }
      const [result] = yield* batcher.submitAll([record, { payload: new Uint8Array(1024) }])
      return { record: new WeakRef(record), result: new WeakRef(result) }
    }))
    await settledHeap()
    assert.isUndefined(refs.record.deref(), "the record was collected while the batcher is open")
    assert.isUndefined(refs.result.deref(), "the result was collected while the batcher is open")
    assert.isTrue(await Effect.runPromise(batcher.isRunning))
    await Effect.runPromise(Scope.close(scope, Exit.void))
  })

  it("a layer built with Layer.build releases its batcher (no fiber left) when its scope closes", async () => {
    const { counter, track } = makeFiberCounter()
    class Echo extends Context.Service<Echo, Batcher.Batcher<number, number>>()("leaks/Echo") {}
    await Effect.runPromise(track(Effect.scoped(Effect.gen(function*() {
      const context = yield* Layer.build(Batcher.layer(Echo, {
        process: (batch: ReadonlyArray<number>) => Effect.succeed(batch),
        batchTimeout: "1 hour"
      }))
      const echo = Context.get(context, Echo)
      yield* echo.offer(7)
    }))))
    await nextTurn()
    assert.isAtLeast(counter.started, 2)
    assert.strictEqual(counter.active, 0)
  })
})

// Regression tests for BUG-5 (found by this suite, fixed in 35e0262).
describe("leaks: Promise API start/stop races (BUG-5)", () => {
  const make = () =>
    new DynamicBatcher({ processFn: async (xs: Array<number>) => xs.map((x) => x * 2), batchTimeout: 1 })

  it("two concurrent start() calls start one batcher: the other rejects, nothing is orphaned (BUG-5)", async () => {
    const batcher = make()
    const outcomes = await Promise.allSettled([batcher.start(), batcher.start()])
    await batcher.stop()
    const rejected = outcomes.filter((o) => o.status === "rejected")
    assert.strictEqual(rejected.length, 1, "one start() must reject with BatcherAlreadyRunningError")
    assert.instanceOf((rejected[0] as PromiseRejectedResult).reason, BatcherAlreadyRunningError)
  })

  it("stop() while start() is pending leaves no batcher running (BUG-5)", async () => {
    const batcher = make()
    const started = batcher.start()
    const stopped = batcher.stop()
    await Promise.allSettled([started, stopped])
    const running = batcher.isRunning
    await batcher.stop()
    assert.isFalse(running, "the batcher is running after stop() resolved")
  })
})
