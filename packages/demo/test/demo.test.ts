import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { parseDemoArgs } from "../src/args.ts"
import { runInference } from "../src/inference/run.ts"
import { runSqlite } from "../src/sqlite/run.ts"

describe("demo", () => {
  it.live("inference: every prompt gets its own completion, in batches", () =>
    Effect.gen(function*() {
      const result = yield* runInference({
        prompts: 200,
        tasks: 20,
        accelerator: { launchMs: 2, perTokenMs: 0.0001 },
        unbatchedSample: 5,
        progress: "off"
      })
      assert.strictEqual(result.completed, 200)
      assert.strictEqual(result.stats.totalSubmitted, 200)
      assert.strictEqual(result.stats.totalCompleted, 200)
      assert.strictEqual(result.stats.totalFailed, 0)
      assert.strictEqual(result.stats.totalBatchCost, result.tokens)
      assert.isBelow(result.stats.totalBatches, 200)
      assert.strictEqual(result.unbatched.sampleSize, 5)
      assert.isAbove(result.unbatched.computedMs, 200 * 2)
    }))

  it.live("sqlite: the table holds exactly the rows submitted", () =>
    Effect.gen(function*() {
      const result = yield* runSqlite({ rows: 300, producers: 30, rowByRowBudgetMs: 200, progress: "off" })
      assert.strictEqual(result.rowCount, 300)
      assert.strictEqual(result.distinctRowIds, 300)
      assert.strictEqual(result.stats.totalCompleted, 300)
      assert.strictEqual(result.stats.totalFailed, 0)
      assert.isBelow(result.stats.totalBatches, 300)
      assert.strictEqual(result.rowByRow.rowCount, result.rowByRow.rows)
    }))

  it.effect("args: a leading -- is skipped and sizes are read", () =>
    Effect.gen(function*() {
      const args = yield* parseDemoArgs(["--", "--part", "sqlite", "--rows=42", "--producers", "7"])
      assert.deepStrictEqual(args, { help: false, part: "sqlite", prompts: 20_000, tasks: 500, rows: 42, producers: 7 })
      const invalid = yield* Effect.flip(parseDemoArgs(["--rows", "0"]))
      assert.strictEqual(invalid._tag, "UsageError")
    }))
})
