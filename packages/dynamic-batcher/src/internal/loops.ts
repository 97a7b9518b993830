/**
 * The batcher's two fibers. Each only sequences the engine's synchronous
 * transitions with waits; all decisions live in `engine.ts`.
 *
 * - The aggregation loop fills the open batch from the queue and seals it
 *   into the handoff (a bounded `Queue` of `prefetchBatches` batches).
 * - The processing loop takes one sealed batch at a time, runs `process` in
 *   a span linked to every producer's span, and delivers each record's result.
 */
import type { Tracer } from "effect"
import { Context, Effect, Exit, Queue } from "effect"
import type { Batch, Engine } from "./engine.ts"

/**
 * The engines whose `process` call the current fiber runs in (or was forked
 * from). A batcher's `shutdown` reads it to start its own shutdown without
 * waiting for itself; any other batcher's shutdown still waits.
 */
export const InsideProcess = Context.Reference<ReadonlySet<object>>("effect-dynamic-batcher/InsideProcess", {
  defaultValue: () => new Set()
})

/** Fills and seals batches until shutdown has sealed every accepted record. */
export const aggregationLoop = <Rec, Res, Err>(engine: Engine<Rec, Res, Err>): Effect.Effect<void> =>
  Effect.gen(function*() {
    for (;;) {
      const next = engine.aggregate()
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
  process: (batch: ReadonlyArray<Rec>) => Effect.Effect<ReadonlyArray<Res>, E, R>,
  name: string,
  afterBatch: () => void
): Effect.Effect<void, never, R> =>
  Effect.gen(function*() {
    const inside = new Set(yield* InsideProcess).add(engine)
    for (;;) {
      engine.processorWaiting()
      const taken = yield* Effect.exit(Queue.take(engine.handoff))
      if (Exit.isFailure(taken)) return
      const batch = engine.startBatch(taken.value)
      if (batch.length === 0) continue
      const records = new Array<Rec>(batch.length)
      for (let i = 0; i < batch.length; i++) records[i] = batch[i].record
      const exit = yield* Effect.exit(
        Effect.suspend(() => process(records)).pipe(
          Effect.provideService(InsideProcess, inside),
          Effect.withSpan("Batcher.process", {
            links: producerLinks(batch),
            attributes: {
              "batcher.name": name,
              "batcher.batch_size": batch.length,
              "batcher.batch_cost": engine.inFlightCost
            }
          })
        )
      )
      engine.finishBatch(batch, exit)
      afterBatch()
      // Delivering results resumes the producers inline, and they refill the
      // handoff: without a yield per batch, a synchronous `process` would keep
      // this fiber running and starve the event loop (timers, I/O).
      yield* Effect.yieldNow
    }
  })

/** One link per distinct producer span, as Effect's `RequestResolver.withSpan` does. */
const producerLinks = (batch: Batch<any, any, any>): Array<Tracer.SpanLink> => {
  const links: Array<Tracer.SpanLink> = []
  let seen: Set<Tracer.AnySpan> | undefined
  for (let i = 0; i < batch.length; i++) {
    const span = batch[i].span
    if (span === undefined) continue
    seen ??= new Set()
    if (seen.has(span)) continue
    seen.add(span)
    links.push({ span, attributes: {} })
  }
  return links
}
