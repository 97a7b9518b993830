/**
 * Where a batcher entity remembers the records it completed, so that a record
 * delivered again (a durable message replayed after a failover, a client that
 * retries with the same id) returns its stored result instead of running twice.
 *
 * Two stores: `layerMemory` (one process: `TestRunner`, `SingleRunner`) and
 * `layerSql` (PostgreSQL, shared by every runner). With `layerSql` a batch runs
 * inside one SQL transaction that also stores its results, so a `process` that
 * writes through the same `SqlClient` commits its effects and the record's
 * completion together, or neither (a runner killed mid-batch rolls back).
 *
 * @since 0.1.0
 */
import { Array as Arr, Clock, Context, Duration, Effect, Layer, Schedule } from "effect"
import type { SqlError } from "effect/sql"
import { SqlClient } from "effect/sql"

/**
 * The results stored for some of a batch's record ids (JSON-encoded values,
 * as the entity's `result` schema encodes them).
 *
 * @category models
 * @since 0.1.0
 */
export type Stored = ReadonlyMap<string, unknown>

/**
 * What a batch hands back to the store: its value, and the encoded result of
 * each record it completed, to remember.
 *
 * @category models
 * @since 0.1.0
 */
export interface Outcome<A> {
  readonly value: A
  readonly completed: ReadonlyArray<readonly [id: string, encoded: unknown]>
}

/**
 * The store's interface. `transact` runs one batch: it reads what is stored
 * for `ids`, runs `run` with it, and remembers `completed`, atomically where
 * the store can.
 *
 * @category models
 * @since 0.1.0
 */
export interface Store {
  readonly transact: <A, E, R>(
    entity: string,
    key: string,
    ids: ReadonlyArray<string>,
    run: (stored: Stored) => Effect.Effect<Outcome<A>, E, R>
  ) => Effect.Effect<A, E | SqlError.SqlError, R>
}

/**
 * The service key of the store a batcher entity uses.
 *
 * **Example**
 * ```ts
 * import { CompletedRecords } from "effect-dynamic-batcher-cluster"
 *
 * const InProcess = CompletedRecords.layerMemory({ window: "10 minutes" })
 * ```
 *
 * @category services
 * @since 0.1.0
 */
export class CompletedRecords extends Context.Service<CompletedRecords, Store>()(
  "effect-dynamic-batcher-cluster/CompletedRecords"
) {}

/**
 * Options of both stores.
 *
 * @category models
 * @since 0.1.0
 */
export interface Options {
  /**
   * How long a completed record's result is kept.
   * @default "10 minutes"
   */
  readonly window?: Duration.Input | undefined
}

const defaultWindow = Duration.minutes(10)

/**
 * A store in this process's memory: right for `TestRunner` and one-runner
 * deployments. A record completed on another runner, or before a restart, is
 * not known here.
 *
 * **Example**
 * ```ts
 * import { Layer } from "effect"
 * import { TestRunner } from "effect/cluster"
 * import { CompletedRecords } from "effect-dynamic-batcher-cluster"
 *
 * const Test = Layer.mergeAll(TestRunner.layer, CompletedRecords.layerMemory())
 * ```
 *
 * @category layers
 * @since 0.1.0
 */
export const layerMemory = (options?: Options): Layer.Layer<CompletedRecords> =>
  Layer.sync(CompletedRecords, () => {
    const windowMs = Duration.toMillis(Duration.fromInputUnsafe(options?.window ?? defaultWindow))
    // Insertion order is completion order, so the expired entries are always
    // at the front and pruning stops at the first live one.
    const results = new Map<string, { readonly at: number; readonly encoded: unknown }>()
    const prune = (now: number) => {
      for (const [id, entry] of results) {
        if (now - entry.at < windowMs) return
        results.delete(id)
      }
    }
    return CompletedRecords.of({
      transact: (entity, key, ids, run) =>
        Effect.gen(function*() {
          const now = yield* Clock.currentTimeMillis
          prune(now)
          const stored = new Map<string, unknown>()
          for (const id of ids) {
            const entry = results.get(storeKey(entity, key, id))
            if (entry !== undefined) stored.set(id, entry.encoded)
          }
          const outcome = yield* run(stored)
          const at = yield* Clock.currentTimeMillis
          for (const [id, encoded] of outcome.completed) results.set(storeKey(entity, key, id), { at, encoded })
          return outcome.value
        })
    })
  })

/**
 * A store in a PostgreSQL table (`table`, created if missing), shared by every
 * runner. Each batch runs in one transaction that reads the stored results of
 * its ids and inserts the new ones; rows older than `window` are deleted every
 * `window / 10`.
 *
 * **Example**
 * ```ts
 * import { CompletedRecords } from "effect-dynamic-batcher-cluster"
 *
 * // needs a SqlClient, e.g. PgClient.layerConfig(...)
 * const Shared = CompletedRecords.layerSql({ window: "1 hour" })
 * ```
 *
 * @category layers
 * @since 0.1.0
 */
export const layerSql = (
  options?: Options & {
    /** @default "batcher_completed" */
    readonly table?: string | undefined
  }
): Layer.Layer<CompletedRecords, SqlError.SqlError, SqlClient.SqlClient> =>
  Layer.effect(
    CompletedRecords,
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      const tableName = options?.table ?? "batcher_completed"
      const table = sql(tableName)
      const window = Duration.fromInputUnsafe(options?.window ?? defaultWindow)
      const windowSeconds = Duration.toSeconds(window)
      // Runners start together: CREATE TABLE IF NOT EXISTS is not safe to run
      // concurrently in PostgreSQL, so they take turns under an advisory lock.
      yield* sql.withTransaction(Effect.andThen(
        sql`SELECT pg_advisory_xact_lock(hashtext(${tableName}))`,
        sql`CREATE TABLE IF NOT EXISTS ${table} (
        entity_type TEXT NOT NULL,
        entity_key TEXT NOT NULL,
        record_id TEXT NOT NULL,
        result JSONB NOT NULL,
        completed_at TIMESTAMPTZ NOT NULL DEFAULT now(),
        PRIMARY KEY (entity_type, entity_key, record_id)
      )`
      ))
      yield* sql`DELETE FROM ${table} WHERE completed_at < now() - make_interval(secs => ${windowSeconds})`.pipe(
        Effect.ignore,
        Effect.repeat(Schedule.spaced(Duration.divideUnsafe(window, 10))),
        Effect.forkScoped
      )
      return CompletedRecords.of({
        transact: (entity, key, ids, run) =>
          sql.withTransaction(Effect.gen(function*() {
            const rows = ids.length === 0 ? [] : yield* sql<{ readonly record_id: string; readonly result: unknown }>`
              SELECT record_id, result FROM ${table}
              WHERE entity_type = ${entity} AND entity_key = ${key} AND ${sql.in("record_id", ids)}`
            const outcome = yield* run(new Map(rows.map((row) => [row.record_id, row.result])))
            const inserts = outcome.completed.map(([id, encoded]): Record<string, unknown> => ({
              entity_type: entity,
              entity_key: key,
              record_id: id,
              result: JSON.stringify(encoded)
            }))
            if (Arr.isReadonlyArrayNonEmpty(inserts)) {
              yield* sql`INSERT INTO ${table} ${sql.insert(inserts)} ON CONFLICT DO NOTHING`
            }
            return outcome.value
          }))
      })
    })
  )

// internals

const storeKey = (entity: string, key: string, id: string): string => `${entity}\u0000${key}\u0000${id}`
