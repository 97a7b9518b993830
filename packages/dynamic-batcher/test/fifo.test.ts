/**
 * The engine's first-in first-out buffer, against a plain array as its model:
 * random sequences of every operation, with runs long enough to cross its
 * chunks' boundaries (1,024 items) many times. Seeded like the other property
 * tests (PROPERTY_SEED replays a failure).
 */
import { assert, describe, it } from "@effect/vitest"
import * as fc from "fast-check"
import { Fifo } from "../src/internal/fifo.ts"

const SEED = Number(process.env.PROPERTY_SEED ?? 20_261_128)

type Operation =
  | { readonly op: "push"; readonly times: number }
  | { readonly op: "pushAll"; readonly length: number; readonly from: number }
  | { readonly op: "shift"; readonly times: number }
  | { readonly op: "moveTo"; readonly count: number; readonly onto: number }
  | { readonly op: "drain" }

const operation: fc.Arbitrary<Operation> = fc.oneof(
  fc.record({ op: fc.constant("push" as const), times: fc.integer({ min: 1, max: 1500 }) }),
  fc.record({
    op: fc.constant("pushAll" as const),
    length: fc.integer({ min: 0, max: 3000 }),
    from: fc.integer({ min: 0, max: 50 })
  }),
  fc.record({ op: fc.constant("shift" as const), times: fc.integer({ min: 1, max: 1500 }) }),
  fc.record({
    op: fc.constant("moveTo" as const),
    count: fc.integer({ min: 0, max: 3000 }),
    onto: fc.integer({ min: 0, max: 3 })
  }),
  fc.constant({ op: "drain" as const })
)

/** Checks every read of `fifo` against `model`. */
const agree = (fifo: Fifo<number>, model: ReadonlyArray<number>): void => {
  assert.strictEqual(fifo.size, model.length)
  assert.strictEqual(fifo.last(), model.at(-1))
  if (model.length > 0) assert.strictEqual(fifo.peek(), model[0])
  for (let index = 0; index < model.length; index++) {
    if (fifo.at(index) !== model[index]) assert.fail(`at(${index}): ${fifo.at(index)}, expected ${model[index]}`)
  }
}

describe("Fifo", () => {
  it("behaves as an array taken from the front, across chunk boundaries", () => {
    fc.assert(
      fc.property(fc.array(operation, { maxLength: 40 }), (operations) => {
        const fifo = new Fifo<number>()
        let model: Array<number> = []
        let next = 0
        for (const step of operations) {
          switch (step.op) {
            case "push":
              for (let i = 0; i < step.times; i++) {
                fifo.push(next)
                model.push(next++)
              }
              break
            case "pushAll": {
              const items = Array.from({ length: step.from + step.length }, () => next++)
              fifo.pushAll(items, step.from, items.length)
              model.push(...items.slice(step.from))
              break
            }
            case "shift":
              for (let i = 0; i < step.times && model.length > 0; i++) assert.strictEqual(fifo.shift(), model.shift())
              break
            case "moveTo": {
              const count = Math.min(step.count, model.length)
              const target = Array.from({ length: step.onto }, (_, i) => -1 - i)
              const moved = fifo.moveTo(target, count)
              const expected = [...target.slice(0, step.onto), ...model.splice(0, count)]
              if (step.onto > 0) assert.strictEqual(moved, target, "appends to a target that has items")
              assert.deepStrictEqual(moved.slice(0, step.onto), expected.slice(0, step.onto))
              assert.deepStrictEqual(moved.slice(step.onto), expected.slice(step.onto))
              break
            }
            case "drain":
              assert.deepStrictEqual(fifo.drain(), model)
              model = []
              break
          }
          agree(fifo, model)
        }
      }),
      { seed: SEED, numRuns: 200 }
    )
  })
})
