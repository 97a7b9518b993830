import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { defaults, parseServeArgs } from "../src/options.ts"

describe("serve options", () => {
  it.effect("defaults: port 8080 on loopback, 1 MiB bodies, no bound on waiting texts", () =>
    Effect.gen(function*() {
      const options = yield* parseServeArgs([])
      assert.deepStrictEqual(options, defaults)
      assert.deepStrictEqual([options.port, options.host, options.maxBodyBytes, options.maxWaiting], [
        8080,
        "127.0.0.1",
        1024 * 1024,
        undefined
      ])
    }))

  it.effect("flags after pnpm's -- are read; bad values are UsageErrors that name the flag", () =>
    Effect.gen(function*() {
      const options = yield* parseServeArgs([
        "--",
        "--port",
        "0",
        "--max-waiting",
        "100",
        "--max-batch-size=1",
        "--dispatch",
        "full"
      ])
      assert.deepStrictEqual([options.port, options.maxWaiting, options.maxBatchSize, options.dispatch], [
        0,
        100,
        1,
        "full"
      ])
      for (
        const [argv, message] of [
          [["--port", "70000"], "--port must be at most 65535"],
          [["--port=-1"], "--port must be an integer >= 0"],
          [["--max-waiting", "0"], "--max-waiting must be an integer >= 1"],
          [["--max-body-bytes", "1.5"], "--max-body-bytes must be an integer"],
          [["--dispatch", "soon"], "--dispatch must be idle or full"],
          [["--what"], "Unknown option"]
        ] as const
      ) {
        const error = yield* Effect.flip(parseServeArgs(argv))
        assert.strictEqual(error._tag, "UsageError")
        assert.include(error.message, message)
      }
    }))
})
