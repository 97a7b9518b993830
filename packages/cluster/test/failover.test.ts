import { assert, describe, it } from "@effect/vitest"
import { inject } from "vitest"
import { runCluster } from "../demo/cluster.ts"

// Real processes on 127.0.0.1 and real time; nothing below asserts on timing.
// The runners use the shortened timings of demo/cluster.ts (a crashed
// runner's shards move after ~5 s).

describe("three runners, two producers (submit and submitAll), one runner killed (SIGKILL) mid-run", () => {
  it(
    "moves the killed runner's keys; durable submits all complete, none committed twice; non-durable ones complete or fail with BatcherUnavailableError",
    async () => {
      const keys = ["k1", "k2", "k3", "k4", "k5"]
      const result = await runCluster({
        databaseUrl: inject("databaseUrl"),
        runners: 3,
        producers: 2,
        keys,
        perKey: 300,
        killAt: 0.3,
        // p1 sends one submit per record, p2 submitAll of 16 records (one message each)
        producerEnv: (i) => i === 1 ? { CHUNK: "16" } : {}
      })
      const { killed, outcomes, processed } = result
      assert.strictEqual(outcomes.length, 2 * keys.length * 300)
      assert.isDefined(killed)
      assert.isAbove(killed!.keys.length, 0, "the killed runner hosted keys")

      // every record: its own right result, or (non-durable only) BatcherUnavailableError; never a hang or a defect
      const wrong = outcomes.filter((o) =>
        o.outcome === "ok" ? o.doubled !== o.value * 2 : o.durable || o.outcome !== "unavailable"
      )
      assert.deepStrictEqual(wrong.slice(0, 5), [])
      assert.isTrue(outcomes.filter((o) => o.durable).every((o) => o.outcome === "ok"))

      // the processed table holds one row per committed record: none twice, and every completed one
      const commits = new Map<string, number>()
      for (const row of processed) commits.set(row.record_id, (commits.get(row.record_id) ?? 0) + 1)
      assert.deepStrictEqual([...commits].filter(([, n]) => n > 1).slice(0, 5), [])
      assert.deepStrictEqual(outcomes.filter((o) => o.outcome === "ok" && commits.get(o.id) !== 1).slice(0, 5), [])

      // each key the killed runner hosted was served by another runner afterwards
      for (const key of killed!.keys) {
        const servedBy = new Set(outcomes.filter((o) => o.key === key && o.outcome === "ok").map((o) => o.runner))
        assert.isTrue([...servedBy].some((runner) => runner !== killed!.runner), `key ${key} moved`)
      }
      const unavailable = outcomes.filter((o) => o.outcome === "unavailable").length
      console.log(
        `killed ${killed!.runner} hosting ${killed!.keys.join(",")}; ${unavailable} non-durable submits failed`
      )
    },
    150_000
  )
})
