/**
 * The entity the tests and the demo run: `Scorer` doubles numbers, one batch
 * at a time per key, like a model on an accelerator (a few milliseconds a
 * batch). Each batch writes its records to the `processed` table in the
 * batch's own transaction, so the table says which runner ran what, and a
 * record's row is there exactly when its completion was committed.
 */
import { Array as Arr, Effect, Schema } from "effect"
import { BatcherEntity } from "effect-dynamic-batcher-cluster"
import { SqlClient } from "effect/sql"

/** A record: its id travels inside it, so `process` can write it down. */
export const Job = Schema.Struct({ id: Schema.String, value: Schema.Number })

/** A result: the doubled value and the runner that computed it. */
export const Score = Schema.Struct({ doubled: Schema.Number, runner: Schema.String })

/** What a runner counts, for its reports. */
export interface Counters {
  batches: number
  records: number
  readonly keys: Set<string>
}

/** The Scorer entity as the runner named `runner` runs it (clients may pass any name). */
export const makeScorer = (runner: string, counters?: Counters) =>
  BatcherEntity.make("Scorer", {
    record: Job,
    result: Score,
    maxBatchSize: 64,
    batchTimeout: "5 millis",
    dispatch: "idle",
    process: (batch, key) =>
      Effect.gen(function*() {
        const sql = yield* SqlClient.SqlClient
        // the simulated device: 2 ms a batch plus 20 µs a record
        yield* Effect.sleep(2 + batch.length * 0.02)
        const rows = batch.map((job): Record<string, unknown> => ({
          record_id: job.id,
          entity_key: key,
          runner,
          batch_size: batch.length
        }))
        if (Arr.isReadonlyArrayNonEmpty(rows)) yield* sql`INSERT INTO processed ${sql.insert(rows)}`
        if (counters !== undefined) {
          counters.batches++
          counters.records += batch.length
          counters.keys.add(key)
        }
        return batch.map((job) => ({ doubled: job.value * 2, runner }))
      })
  })

/** Creates the `processed` table (before the runners start, so they do not race to). */
export const createProcessedTable = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  yield* sql`CREATE TABLE IF NOT EXISTS processed (
    record_id TEXT NOT NULL,
    entity_key TEXT NOT NULL,
    runner TEXT NOT NULL,
    batch_size INTEGER NOT NULL
  )`
})
