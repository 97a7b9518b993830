import { PgClient } from "@effect/sql-pg"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer, Redacted } from "effect"
import { CompletedRecords } from "effect-dynamic-batcher-cluster"
import { SqlClient } from "effect/sql"
import { TestClock } from "effect/testing"
import { inject } from "vitest"

const remember = (ids: ReadonlyArray<string>, value: string) =>
  Effect.gen(function*() {
    const store = yield* CompletedRecords.CompletedRecords
    return yield* store.transact("E", "key", ids, (stored) =>
      Effect.succeed({
        value: stored,
        completed: ids.filter((id) => !stored.has(id)).map((id) => [id, value] as const)
      }))
  })

describe("CompletedRecords.layerMemory", () => {
  it.effect("returns what completed within the window, and forgets it after", () =>
    Effect.gen(function*() {
      assert.strictEqual((yield* remember(["a"], "first")).size, 0)
      yield* TestClock.adjust("5 minutes")
      assert.deepStrictEqual([...yield* remember(["a", "b"], "second")], [["a", "first"]])
      yield* TestClock.adjust("6 minutes") // "a" is 11 minutes old, "b" 6
      assert.deepStrictEqual([...yield* remember(["a", "b"], "third")], [["b", "second"]])
    }).pipe(Effect.provide(CompletedRecords.layerMemory({ window: "10 minutes" }))))
})

describe("CompletedRecords.layerSql (PostgreSQL)", () => {
  const Sql = CompletedRecords.layerSql({ table: "completed_test" }).pipe(
    Layer.provideMerge(PgClient.layer({ url: Redacted.make(inject("databaseUrl")), maxConnections: 2 }))
  )

  it.effect("a batch's writes and its completions commit together, or neither", () =>
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      const store = yield* CompletedRecords.CompletedRecords
      yield* sql`CREATE TABLE IF NOT EXISTS effects_test (id TEXT NOT NULL)`
      const batch = (ids: ReadonlyArray<string>, fail: boolean) =>
        store.transact("E", "key", ids, (stored) =>
          Effect.gen(function*() {
            for (const id of ids) if (!stored.has(id)) yield* sql`INSERT INTO effects_test VALUES (${id})`
            if (fail) return yield* Effect.fail("boom" as const)
            return { value: stored, completed: ids.filter((id) => !stored.has(id)).map((id) => [id, { id }] as const) }
          }))
      assert.deepStrictEqual(yield* Effect.flip(batch(["x"], true)), "boom")
      assert.strictEqual((yield* batch(["x", "y"], false)).size, 0)
      const again = yield* batch(["x", "y", "z"], false)
      assert.deepStrictEqual([...again], [["x", { id: "x" }], ["y", { id: "y" }]])
      const rows = yield* sql<{ readonly id: string }>`SELECT id FROM effects_test ORDER BY id`
      assert.deepStrictEqual(rows.map((row) => row.id), ["x", "y", "z"])
    }).pipe(Effect.provide(Sql)))
})
