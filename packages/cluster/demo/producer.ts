/**
 * One producer process (client-only: it owns no shard). It submits `PER_KEY`
 * records to each of `KEYS`, 256 at a time, half of them durable (`DURABLE`:
 * half, all, none), one submit each or, with `CHUNK=n`, n per submitAll; it writes
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
// 0: one submit per record; n: submitAll of up to n records at a time
const chunk = Number(process.env.CHUNK ?? "0")

const jobs = Array.from(
  { length: perKey },
  (_, i) => keys.map((key) => ({ key, id: `${name}-${key}-${i}`, value: i, durable: isDurable(i) }))
).flat()

type Job = (typeof jobs)[number]
const toRecord = (job: Job) => ({ id: job.id, value: job.value })

// Consecutive runs of jobs of one key and durability, cut at `size`.
const chunksOf = (all: ReadonlyArray<Job>, size: number): Array<Array<Job>> => {
  const groups = new Map<string, Array<Job>>()
  const out: Array<Array<Job>> = []
  for (const job of all) {
    const group = `${job.key}/${job.durable}`
    let current = groups.get(group)
    if (current === undefined || current.length === size) {
      current = []
      groups.set(group, current)
      out.push(current)
    }
    current.push(job)
  }
  return out
}

const program = Effect.gen(function*() {
  const scorer = yield* BatcherEntity.client(makeScorer(name))
  let done = 0
  const started = Date.now()
  const progress = () => console.log(JSON.stringify({ event: "progress", producer: name, done, total: jobs.length }))
  yield* Effect.sleep("500 millis").pipe(Effect.andThen(Effect.sync(progress)), Effect.forever, Effect.forkChild)
  // a send is one record (submit) or, with CHUNK, up to CHUNK records of one key and durability (submitAll)
  const sends = chunk === 0 ? jobs.map((job) => [job]) : chunksOf(jobs, chunk)
  const outcomes = yield* Effect.forEach(
    sends,
    (send) => {
      const { durable, key } = send[0]
      const sent = send.length === 1 && chunk === 0
        ? Effect.map(scorer.submit(key, toRecord(send[0]), { id: send[0].id, durable }), (score) => [score])
        : scorer.submitAll(key, send.map(toRecord), { ids: send.map((job) => job.id), durable })
      return sent.pipe(
        // a submit that never returns is a bug: give it far longer than a failover takes
        Effect.timeoutOption("90 seconds"),
        Effect.exit,
        Effect.map((exit) =>
          send.map((job, i): Outcome => {
            done++
            const base = { id: job.id, key: job.key, value: job.value, durable: job.durable }
            if (Exit.isSuccess(exit)) {
              return exit.value._tag === "Some"
                ? { ...base, outcome: "ok", doubled: exit.value.value[i].doubled, runner: exit.value.value[i].runner }
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
        )
      )
    },
    { concurrency: Math.max(1, Math.floor(256 / Math.max(1, chunk))) }
  ).pipe(Effect.map((perSend) => perSend.flat()))
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
