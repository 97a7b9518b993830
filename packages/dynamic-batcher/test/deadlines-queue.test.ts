/**
 * The engine's queue of record deadlines (runs per timeout, a heap for the
 * rest), against a plain list as its model: random sequences of records
 * tracked with a few or many timeouts, out of order now and then (as a retry
 * is), records leaving before their deadline, and time passing. Seeded like
 * the other property tests (PROPERTY_SEED replays a failure).
 */
import { assert, describe, it } from "@effect/vitest"
import * as fc from "fast-check"
import { Deadlines, type Waiting } from "../src/internal/deadlines.ts"
import type { Entry } from "../src/internal/entry.ts"
import { DONE, QUEUED } from "../src/internal/entry.ts"

const SEED = Number(process.env.PROPERTY_SEED ?? 20_261_204)

/** What the queue reads of an entry. */
interface Record {
  state: number
  deadline: number
  timeoutMillis: number
}

type Operation =
  | { readonly op: "track"; readonly times: number; readonly timeout: number; readonly late: number }
  | { readonly op: "leave"; readonly index: number; readonly count: number }
  | { readonly op: "advance"; readonly millis: number }

const operation = (timeouts: number): fc.Arbitrary<Operation> =>
  fc.oneof(
    fc.record({
      op: fc.constant("track" as const),
      times: fc.integer({ min: 1, max: 600 }),
      timeout: fc.integer({ min: 0, max: timeouts - 1 }).map((i) => 5 * i),
      // Now and then a record tracked again with an earlier deadline than its run's newest (a retry).
      late: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 40 }))
    }),
    // Many records leaving while older ones wait makes the queue compact itself.
    fc.record({ op: fc.constant("leave" as const), index: fc.nat(), count: fc.integer({ min: 1, max: 900 }) }),
    fc.record({ op: fc.constant("advance" as const), millis: fc.integer({ min: 0, max: 30 }) })
  )

describe("Deadlines", () => {
  it("expires exactly the pending records due, earliest first, and knows the next deadline", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 8 }).chain((timeouts) => fc.array(operation(timeouts), { maxLength: 40 })),
        (operations) => {
          const deadlines = new Deadlines<Entry<unknown, unknown, unknown>, Waiting<Entry<unknown, unknown, unknown>>>()
          const live: Array<Record> = []
          let now = 0
          for (const step of operations) {
            switch (step.op) {
              case "track":
                for (let i = 0; i < step.times; i++) {
                  const record = {
                    state: QUEUED,
                    deadline: now + step.timeout - step.late,
                    timeoutMillis: step.timeout
                  }
                  live.push(record)
                  deadlines.track(record as unknown as Entry<unknown, unknown, unknown>)
                }
                break
              case "leave":
                if (live.length > 1) {
                  // Keeps the oldest: the rest leave behind it, as records in process do.
                  const from = 1 + step.index % (live.length - 1)
                  for (const left of live.splice(from, step.count)) left.state = DONE
                }
                break
              case "advance": {
                now += step.millis
                const expired: Array<Record> = []
                deadlines.due(now, (entry) => {
                  const record = entry as unknown as Record
                  record.state = DONE
                  expired.push(record)
                }, () => assert.fail("no producer waits"))
                const due = live.filter((record) => record.deadline <= now)
                assert.strictEqual(expired.length, due.length)
                for (const record of due) assert.isTrue(expired.includes(record))
                for (let i = 1; i < expired.length; i++) {
                  assert.isTrue(expired[i - 1].deadline <= expired[i].deadline, "earliest first")
                }
                live.splice(0, live.length, ...live.filter((record) => record.deadline > now))
                break
              }
            }
            assert.strictEqual(deadlines.hasPendingRecords(live.length), live.length > 0)
            const earliest = live.reduce((min, record) => Math.min(min, record.deadline), Number.POSITIVE_INFINITY)
            assert.strictEqual(deadlines.next(), earliest)
          }
        }
      ),
      { seed: SEED, numRuns: 200 }
    )
  })
})
