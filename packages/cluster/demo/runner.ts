/**
 * One runner process: it serves the Scorer entity on the cluster configured by
 * the `BATCHER_CLUSTER_*` variables, and prints one JSON line when it is ready
 * and then its counters every 500 ms (`RUNNER_NAME` names it).
 *
 *   BATCHER_CLUSTER_DATABASE_URL=postgres://… BATCHER_CLUSTER_RUNNER_PORT=50001 RUNNER_NAME=r1 node demo/runner.ts
 */
import { NodeRuntime } from "@effect/platform-node"
import { Effect, Layer, References } from "effect"
import { BatcherCluster } from "effect-dynamic-batcher-cluster"
import { type Counters, makeScorer } from "./entity.ts"

const runner = process.env.RUNNER_NAME ?? `runner-${process.pid}`
const counters: Counters = { batches: 0, records: 0, keys: new Set() }
const emit = (event: string) =>
  console.log(JSON.stringify({
    event,
    runner,
    pid: process.pid,
    batches: counters.batches,
    records: counters.records,
    keys: [...counters.keys].sort()
  }))

const Report = Layer.effectDiscard(Effect.gen(function*() {
  emit("ready")
  yield* Effect.sleep("500 millis").pipe(
    Effect.andThen(Effect.sync(() => emit("stats"))),
    Effect.forever,
    Effect.forkScoped
  )
}))

const Runner = Report.pipe(
  Layer.provideMerge(makeScorer(runner, counters).layer),
  Layer.provide(BatcherCluster.layerRunner())
)

Layer.launch(Runner).pipe(
  Effect.provideService(References.MinimumLogLevel, "Error"),
  NodeRuntime.runMain
)
