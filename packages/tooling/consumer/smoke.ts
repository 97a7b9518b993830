// The consumer check's smoke program (`pnpm consumer:check`): it is copied into a fresh npm
// project that installed the packed tarball, type-checked there by the consumer's TypeScript
// (nodenext, strict) and run on Node 20 and Node 24. It touches every public entry point and
// asserts on results, so a module that fails to load, an export that is missing from the
// published types, or a runtime API the Node version lacks fails the check.
import { Context, Deferred, Effect, Layer } from "effect"
import {
  Batcher,
  BatcherConfigError,
  type BatcherError,
  BatcherShutdownError,
  BatchStats,
  InvalidCostError,
  TokenBatcher
} from "effect-dynamic-batcher"
import { BatcherAlreadyRunningError, DynamicBatcher } from "effect-dynamic-batcher/promise"
import assert from "node:assert/strict"

class Doubler extends Context.Service<Doubler, Batcher.Batcher<number, number>>()("Doubler") {}

const effectApi = Effect.gen(function*() {
  const batcher = yield* Batcher.make({
    process: (xs: ReadonlyArray<number>) => Effect.succeed(xs.map((x) => x * 2)),
    maxBatchSize: 4,
    batchTimeout: "1 millis"
  })
  assert.equal(yield* batcher.submit(21), 42)
  assert.deepEqual(yield* batcher.submitAll([1, 2, 3, 4, 5, 6]), [2, 4, 6, 8, 10, 12])
  const handle = yield* batcher.offer(5)
  assert.equal(yield* Deferred.await(handle), 10)
  const badCost: BatcherError = yield* Effect.flip(batcher.submit(1, { cost: -1 }))
  assert.ok(badCost instanceof InvalidCostError)
  const stats: BatchStats = yield* batcher.stats
  assert.equal(stats.totalCompleted, 8)
  assert.ok(stats instanceof BatchStats)

  const llm = yield* TokenBatcher.make({
    process: (prompts: ReadonlyArray<TokenBatcher.Prompt>) => Effect.succeed(prompts.map((p) => p.text.length)),
    targetBatchTokens: 64
  })
  assert.equal(yield* llm.submit(new TokenBatcher.Prompt("hello")), 5)

  yield* batcher.shutdown
  const late = yield* Effect.flip(batcher.submit(1))
  assert.ok(late instanceof BatcherShutdownError)
})

const layerApi = Batcher.submit(Doubler, 4).pipe(
  Effect.provide(
    Batcher.layer(Doubler, { process: (xs: ReadonlyArray<number>) => Effect.succeed(xs.map((x) => x * 2)) })
  ),
  Effect.tap((eight) => Effect.sync(() => assert.equal(eight, 8)))
)

const badOption = Layer.build(Batcher.layer(Doubler, { process: Effect.succeed, maxBatchSize: 0 })).pipe(
  Effect.scoped,
  Effect.flip,
  Effect.tap((error) => Effect.sync(() => assert.ok(error instanceof BatcherConfigError)))
)

const promiseApi = async (): Promise<void> => {
  await using batcher = new DynamicBatcher({
    processFn: async (batch: Array<string>) => batch.map((s) => s.toUpperCase()),
    maxBatchSize: 8,
    batchTimeout: 1
  })
  await batcher.start()
  await assert.rejects(batcher.start(), BatcherAlreadyRunningError)
  assert.equal(await batcher.submit("a"), "A")
  const { result } = await batcher.enqueue("b")
  assert.equal(await result, "B")
  const futures = await batcher.submitBatch(["c", "d"])
  assert.deepEqual(await Promise.all(futures), ["C", "D"])
  assert.equal(batcher.isRunning, true)
  assert.equal(batcher.stats.totalCompleted, 4)
}

await Effect.runPromise(Effect.scoped(effectApi))
await Effect.runPromise(layerApi)
await Effect.runPromise(badOption)
await promiseApi()
console.log(`consumer smoke program passed on Node ${process.version}`)
