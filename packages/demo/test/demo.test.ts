import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { mkdtemp, rm, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { parseDemoArgs } from "../src/args.ts"
import { compareEmbeddings } from "../src/inference/compare.ts"
import { runInference } from "../src/inference/run.ts"
import { buildEmbeddingModel, defaultModelSpec } from "../src/model/builder.ts"
import { EMBEDDING_TOLERANCE } from "../src/model/embedder.ts"
import { runSqlite } from "../src/sqlite/run.ts"

describe("demo", () => {
  it.live("inference: every text's batched embedding equals its own run, in batches", () =>
    Effect.gen(function*() {
      const result = yield* runInference({ texts: 300, tasks: 30, modelPath: undefined, progress: "off" })
      assert.strictEqual(result.matched, 300)
      assert.isAtMost(result.maxDifference, EMBEDDING_TOLERANCE)
      assert.strictEqual(result.dimension, defaultModelSpec.outputDim)
      assert.strictEqual(result.stats.totalSubmitted, 300)
      assert.strictEqual(result.stats.totalCompleted, 300)
      assert.strictEqual(result.stats.totalFailed, 0)
      assert.strictEqual(result.stats.totalBatchCost, result.tokens)
      assert.isBelow(result.stats.totalBatches, 300)
    }))

  it.live("inference: --model runs a model file through the same path", () =>
    Effect.gen(function*() {
      const dir = yield* Effect.acquireRelease(
        Effect.promise(() => mkdtemp(join(tmpdir(), "demo-model-"))),
        (dir) => Effect.promise(() => rm(dir, { recursive: true, force: true }))
      )
      const path = join(dir, "embedder.onnx")
      yield* Effect.promise(() => writeFile(path, buildEmbeddingModel(defaultModelSpec)))
      const result = yield* runInference({ texts: 100, tasks: 10, modelPath: path, progress: "off" })
      assert.strictEqual(result.model, path)
      assert.strictEqual(result.matched, 100)
      const missing = yield* Effect.flip(
        runInference({ texts: 1, tasks: 1, modelPath: join(dir, "nope.onnx"), progress: "off" })
      )
      assert.strictEqual(missing._tag, "ModelLoadError")
    }))

  it("inference: a batched embedding that is missing or differs is not counted as verified", () => {
    const reference = [Float32Array.of(1, 0), Float32Array.of(0, 1), Float32Array.of(0.6, 0.8)]
    const same = compareEmbeddings(reference.map((e) => e.slice()), reference)
    assert.deepStrictEqual(same, { matched: 3, maxDifference: 0 })
    const wrong = compareEmbeddings([Float32Array.of(1, 0), Float32Array.of(0, 0.9), undefined], reference)
    assert.strictEqual(wrong.matched, 1)
    assert.strictEqual(wrong.maxDifference, Infinity)
    assert.strictEqual(compareEmbeddings([Float32Array.of(1)], [Float32Array.of(1, 0)]).matched, 0)
  })

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
      const args = yield* parseDemoArgs([
        "--",
        "--part",
        "sqlite",
        "--rows=42",
        "--producers",
        "7",
        "--model",
        "m.onnx"
      ])
      assert.deepStrictEqual(args, {
        help: false,
        part: "sqlite",
        texts: 20_000,
        tasks: 500,
        model: "m.onnx",
        rows: 42,
        producers: 7
      })
      const invalid = yield* Effect.flip(parseDemoArgs(["--rows", "0"]))
      assert.strictEqual(invalid._tag, "UsageError")
    }))
})
