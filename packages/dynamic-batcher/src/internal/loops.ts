/**
 * The batcher's two fibers. Each only sequences the engine's synchronous
 * transitions with waits; all decisions live in `engine.ts`.
 *
 * - The aggregation loop fills the open batch from the queue and seals it
 *   into the handoff (a bounded `Queue` of `prefetchBatches` batches).
 * - The processing loop takes one sealed batch at a time, runs `process`,
 *   and delivers every record's result.
 */
import { Clock, Context, Effect, Exit, Queue } from "effect"
import type { Engine } from "./engine.ts"

/**
 * True inside a `process` call (and fibers it forks). `shutdown` reads it to
 * start the shutdown without waiting for itself.
 */
export const InsideProcess = Context.Reference<boolean>("effect-dynamic-batcher/InsideProcess", {
  defaultValue: () => false
})

/** Fills and seals batches until shutdown has sealed every accepted record. */
export const aggregationLoop = <Rec, Res, Err>(engine: Engine<Rec, Res, Err>): Effect.Effect<void> =>
  Effect.gen(function*() {
    for (;;) {
      const next = engine.aggregate(yield* Clock.currentTimeMillis)
      switch (next._tag) {
        case "Finished":
          Queue.endUnsafe(engine.handoff)
          return
        case "Park":
          yield* engine.parkAggregator
          break
        case "ParkUntil":
          yield* Effect.raceFirst(engine.parkAggregator, Effect.sleep(next.millis))
      }
    }
  })

/** Runs sealed batches through `process`, one at a time, until the handoff ends. */
export const processingLoop = <Rec, Res, E, R>(
  engine: Engine<Rec, Res, any>,
  process: (batch: ReadonlyArray<Rec>) => Effect.Effect<ReadonlyArray<Res>, E, R>
): Effect.Effect<void, never, R> =>
  Effect.gen(function*() {
    for (;;) {
      engine.processorWaiting()
      const waitStart = yield* Clock.currentTimeMillis
      const taken = yield* Effect.exit(Queue.take(engine.handoff))
      if (Exit.isFailure(taken)) return
      const start = yield* Clock.currentTimeMillis
      const batch = engine.startBatch(taken.value, start - waitStart)
      if (batch.length === 0) continue
      const records = new Array<Rec>(batch.length)
      for (let i = 0; i < batch.length; i++) records[i] = batch[i].record
      const exit = yield* Effect.exit(
        Effect.provideService(Effect.suspend(() => process(records)), InsideProcess, true)
      )
      engine.finishBatch(batch, exit, (yield* Clock.currentTimeMillis) - start)
    }
  })
