/**
 * One producer process (client-only: it owns no shard). It submits `PER_KEY`
 * records to each of `KEYS`, 256 at a time, half of them durable, and writes
 * every record's outcome to `OUTCOMES_FILE` as JSON; it prints its progress
 * every 500 ms and a summary at the end.
 *
 *   BATCHER_CLUSTER_DATABASE_URL=postgres://… PRODUCER_NAME=p1 KEYS=a,b PER_KEY=1000 OUTCOMES_FILE=/tmp/p1.json node demo/producer.ts
 */
import { NodeRuntime } from "@effect/platform-node"
import { Cause, Effect, Exit, References } from "effect"
import { BatcherCluster, BatcherEntity } from "effect-dynamic-batcher-cluster"
import { writeFileSync } from "node:fs"
import { makeScorer } from "./entity.ts"

/** What happened to one record. */
export interface Outcome {
  readonly id: string
  readonly key: string
  readonly value: number
  readonly durable: boolean
  /** "ok", "unavailable" (BatcherUnavailableError), "timeout" (a hang), or another failure's tag. */
  readonly outcome: string
  readonly doubled?: number
  readonly runner?: string
  readonly detail?: string
}

const name = process.env.PRODUCER_NAME ?? `producer-${process.pid}`
const keys = (process.env.KEYS ?? "a,b,c").split(",")
const perKey = Number(process.env.PER_KEY ?? "1000")
const outcomesFile = process.env.OUTCOMES_FILE
// "half" (every other record), "all" or "none"
const durability = process.env.DURABLE ?? "half"
const isDurable = (i: number) => durability === "all" || (durability === "half" && i % 2 === 0)

const jobs = Array.from(
  { length: perKey },
  (_, i) => keys.map((key) => ({ key, id: `${name}-${key}-${i}`, value: i, durable: isDurable(i) }))
).flat()

const program = Effect.gen(function*() {
  const scorer = yield* BatcherEntity.client(makeScorer(name))
  let done = 0
  const started = Date.now()
  const progress = () => console.log(JSON.stringify({ event: "progress", producer: name, done, total: jobs.length }))
  yield* Effect.sleep("500 millis").pipe(Effect.andThen(Effect.sync(progress)), Effect.forever, Effect.forkChild)
  const outcomes = yield* Effect.forEach(
    jobs,
    (job) =>
      scorer.submit(job.key, { id: job.id, value: job.value }, { id: job.id, durable: job.durable }).pipe(
        // a submit that never returns is a bug: give it far longer than a failover takes
        Effect.timeoutOption("90 seconds"),
        Effect.exit,
        Effect.map((exit): Outcome => {
          done++
          const base = { id: job.id, key: job.key, value: job.value, durable: job.durable }
          if (Exit.isSuccess(exit)) {
            return exit.value._tag === "Some"
              ? { ...base, outcome: "ok", doubled: exit.value.value.doubled, runner: exit.value.value.runner }
              : { ...base, outcome: "timeout" }
          }
          const error = Cause.findErrorOption(exit.cause)
          if (error._tag === "Some") {
            return {
              ...base,
              outcome: error.value._tag === "BatcherUnavailableError" ? "unavailable" : error.value._tag,
              detail: String(error.value)
            }
          }
          return { ...base, outcome: "defect", detail: Cause.pretty(exit.cause) }
        })
      ),
    { concurrency: 256 }
  )
  const seconds = (Date.now() - started) / 1000
  if (outcomesFile !== undefined) writeFileSync(outcomesFile, JSON.stringify(outcomes))
  const count = (outcome: string) => outcomes.filter((o) => o.outcome === outcome).length
  console.log(JSON.stringify({
    event: "done",
    producer: name,
    total: outcomes.length,
    ok: count("ok"),
    unavailable: count("unavailable"),
    seconds,
    perSecond: Math.round(outcomes.length / seconds)
  }))
})

program.pipe(
  Effect.provide(BatcherCluster.layerClient()),
  Effect.provideService(References.MinimumLogLevel, "Error"),
  NodeRuntime.runMain
)
