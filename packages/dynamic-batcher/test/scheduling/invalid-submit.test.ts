/**
 * Bad per-submit input — a `priority` that is not an integer, a `timeout`
 * that is negative or not a duration, a `groupBy` that throws or returns
 * something other than a string or a number — fails that call with
 * `InvalidSubmitError { option, reason }`; nothing is enqueued and the batcher
 * goes on. The new errors are `BatcherError`s, exported where the others are.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as Top from "effect-dynamic-batcher"
import { Batcher, type BatcherError, DeadlineExceededError, InvalidSubmitError } from "effect-dynamic-batcher"
import * as PromiseApi from "effect-dynamic-batcher/promise"

const identity = (batch: ReadonlyArray<number>) => Effect.succeed(batch)

type Call = "submit" | "offer" | "submitAll" | "offerAll"
const calls: ReadonlyArray<Call> = ["submit", "offer", "submitAll", "offerAll"]

/** Runs `call` with the per-call `options` (every record of an all-call gets them). */
const invoke = (
  batcher: Batcher.Batcher<number, number>,
  call: Call,
  records: ReadonlyArray<number>,
  options: Record<string, unknown>
): Effect.Effect<unknown, unknown> => {
  switch (call) {
    case "submit":
      return batcher.submit(records[0], options as never)
    case "offer":
      return batcher.offer(records[0], options as never)
    case "submitAll":
      return batcher.submitAll(records, options as never)
    case "offerAll":
      return batcher.offerAll(records, options as never)
  }
}

/** A value as a test name shows it: strings quoted, numbers as JavaScript prints them (NaN, Infinity). */
const show = (value: unknown) => typeof value === "string" ? JSON.stringify(value) : String(value)

const badOptions: ReadonlyArray<[string, Record<string, unknown>]> = [
  ["priority", { priority: 1.5 }],
  ["priority", { priority: Number.NaN }],
  ["priority", { priority: Number.POSITIVE_INFINITY }],
  ["priority", { priority: "high" }],
  ["timeout", { timeout: -1 }],
  ["timeout", { timeout: Number.NaN }],
  ["timeout", { timeout: "soon" }],
  ["timeout", { timeout: true }]
]

describe("InvalidSubmitError", () => {
  for (const call of calls) {
    for (const [option, options] of badOptions) {
      it.effect(`${call} with ${option} = ${show(Object.values(options)[0])} fails, nothing enqueued`, () =>
        Effect.gen(function*() {
          const batcher = yield* Batcher.make({ process: identity, batchTimeout: 0 })
          const error = yield* Effect.flip(invoke(batcher, call, [1, 2], options))
          assert.instanceOf(error, InvalidSubmitError)
          const invalid = error as InvalidSubmitError
          assert.strictEqual(invalid._tag, "InvalidSubmitError")
          assert.strictEqual(invalid.option, option)
          assert.isString(invalid.reason)
          assert.isAbove(invalid.reason.length, 0)
          assert.include(invalid.message, option)
          const stats = yield* batcher.stats
          assert.strictEqual(stats.totalSubmitted, 0, "nothing enqueued")
          assert.strictEqual(stats.queueSize, 0)
          assert.deepStrictEqual(yield* batcher.submitAll([3, 4]), [3, 4], "the batcher goes on")
        }))
    }
  }

  it.effect("valid per-submit options are accepted: integer priorities (negative too), timeouts as numbers or durations", () =>
    Effect.gen(function*() {
      const batcher = yield* Batcher.make({ process: identity, batchTimeout: 0 })
      assert.strictEqual(yield* batcher.submit(1, { priority: -3 }), 1)
      assert.strictEqual(yield* batcher.submit(2, { priority: 7, timeout: 1000 }), 2)
      assert.strictEqual(yield* batcher.submit(3, { timeout: "1 second" }), 3)
      assert.deepStrictEqual(yield* batcher.submitAll([4, 5], { priority: 2, timeout: { seconds: 1 } }), [4, 5])
    }))

  const badKeys: ReadonlyArray<[string, (n: number) => string | number]> = [
    ["throws", (n) => {
      if (n === 13) throw new Error("no key for 13")
      return "ok"
    }],
    ["returns NaN", (n) => n === 13 ? Number.NaN : "ok"],
    ["returns Infinity", (n) => n === 13 ? Number.POSITIVE_INFINITY : "ok"],
    ["returns an object", (n) => n === 13 ? ({ key: n } as unknown as string) : "ok"],
    ["returns undefined", (n) => n === 13 ? (undefined as unknown as string) : "ok"]
  ]
  for (const [what, groupBy] of badKeys) {
    for (const call of calls) {
      it.effect(`${call}: a groupBy that ${what} fails the call with InvalidSubmitError(groupBy), nothing enqueued`, () =>
        Effect.gen(function*() {
          const batcher = yield* Batcher.make({ process: identity, groupBy, batchTimeout: 0 })
          // in an all-call, the bad record comes second: the first must not have been enqueued either
          const error = yield* Effect.flip(invoke(batcher, call, call.endsWith("All") ? [1, 13, 2] : [13], {}))
          assert.instanceOf(error, InvalidSubmitError)
          assert.strictEqual((error as InvalidSubmitError).option, "groupBy")
          assert.strictEqual((yield* batcher.stats).totalSubmitted, 0)
          assert.deepStrictEqual(yield* batcher.submitAll([1, 2]), [1, 2], "the batcher goes on")
          assert.strictEqual(yield* batcher.submit(3), 3)
        }))
    }
  }

  it("both new errors are BatcherErrors, exported at the top level, under Batcher and from the Promise entry", () => {
    const invalid: BatcherError = new InvalidSubmitError({ option: "priority", reason: "expected an integer, got 1.5" })
    const late: BatcherError = new DeadlineExceededError({ waitedMillis: 12, timeoutMillis: 10 })
    assert.strictEqual(invalid._tag, "InvalidSubmitError")
    assert.strictEqual(late._tag, "DeadlineExceededError")
    assert.instanceOf(invalid, Error)
    assert.instanceOf(late, Error)
    assert.include(late.message, "12")
    assert.strictEqual(Top.InvalidSubmitError, Batcher.InvalidSubmitError)
    assert.strictEqual(Top.DeadlineExceededError, Batcher.DeadlineExceededError)
    assert.strictEqual(PromiseApi.InvalidSubmitError, InvalidSubmitError)
    assert.strictEqual(PromiseApi.DeadlineExceededError, DeadlineExceededError)
  })

  it.effect("an InvalidSubmitError can be caught by its tag", () =>
    Effect.gen(function*() {
      const batcher = yield* Batcher.make({ process: identity, batchTimeout: 0 })
      const recovered = yield* batcher.submit(1, { priority: 0.5 }).pipe(
        Effect.catchTag("InvalidSubmitError", (e) => Effect.succeed(e.option))
      )
      assert.strictEqual(recovered, "priority")
    }))
})
