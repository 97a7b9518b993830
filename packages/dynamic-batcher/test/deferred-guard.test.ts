/**
 * The guard over Effect's `Deferred`: an offer's entry imitates a `Deferred`
 * (its fields and prototype) only while the installed `effect` has the shape
 * the entry copies; any other shape makes offers fall back to entries that
 * complete a real `Deferred` through its public API. The behaviour tests of
 * `offer.test.ts` run on both kinds.
 */
import { assert, describe, it } from "@effect/vitest"
import { Deferred, Effect, Exit } from "effect"
import { Batcher } from "effect-dynamic-batcher"
import { createRequire } from "node:module"
import * as internal from "../src/internal/batcher.ts"
import { costMethods } from "../src/internal/cost.ts"
import {
  DeferredEntry,
  entriesAreDeferreds,
  entriesWrapDeferreds,
  entryFitsDeferred,
  offerEntries
} from "../src/internal/entry.ts"
import { settle } from "./utils.ts"

const effectVersion: string = createRequire(import.meta.url)("effect/package.json").version
const realPrototype: object = Object.getPrototypeOf(Deferred.makeUnsafe())

/** A Deferred-like object with `prototype` and the fields `fields` (a real one's by default). */
const shaped = (prototype: object, fields: Record<string, unknown> = { resumes: undefined, effect: undefined }) => () =>
  Object.assign(Object.create(prototype), fields) as Deferred.Deferred<unknown, unknown>

describe("the Deferred guard", () => {
  it("accepts the installed effect's Deferred, and offers then use entries that are Deferreds", () => {
    // Tested on the pinned effect; against a newer one (.ci/effect-latest) a
    // changed shape is allowed: offers fall back, and the suite must still pass.
    if (effectVersion !== "4.1.0") {
      console.log(
        `effect ${effectVersion}: offers use ${offerEntries === entriesAreDeferreds ? "entries" : "the fallback"}`
      )
      return
    }
    assert.isTrue(entryFitsDeferred(Deferred.makeUnsafe))
    assert.strictEqual(offerEntries, entriesAreDeferreds)
    assert.isTrue(entryFitsDeferred(shaped(realPrototype)), "a copy of the real shape passes too")
  })

  it("rejects a Deferred with a field the entry does not have", () => {
    assert.isFalse(entryFitsDeferred(shaped(realPrototype, { resumes: undefined, effect: undefined, state: 0 })))
    assert.isFalse(entryFitsDeferred(shaped(realPrototype, { effect: undefined })))
    assert.isFalse(entryFitsDeferred(shaped(realPrototype, { resumes: [], effect: undefined })))
  })

  it("rejects a prototype with another member, or members inherited from further up", () => {
    const extra = Object.create(Object.prototype, Object.getOwnPropertyDescriptors(realPrototype))
    extra.complete = function() {}
    assert.isFalse(entryFitsDeferred(shaped(extra)))
    assert.isFalse(entryFitsDeferred(shaped(Object.create(realPrototype))), "a subclass of today's prototype")
    const { pipe: _pipe, ...withoutPipe } = Object.getOwnPropertyDescriptors(realPrototype)
    assert.isFalse(entryFitsDeferred(shaped(Object.create(Object.prototype, withoutPipe))))
  })

  it("rejects a Deferred whose functions keep their state elsewhere than effect and resumes", () => {
    // Same fields and prototype, but `effect` an accessor that drops writes: completion lives elsewhere.
    const make = () =>
      Object.defineProperty(shaped(realPrototype)(), "effect", {
        enumerable: true,
        get: () => undefined,
        set: () => {}
      })
    assert.isFalse(entryFitsDeferred(make))
    assert.isFalse(entryFitsDeferred(() => ({ resumes: undefined, effect: undefined }) as any), "not a Deferred")
    assert.isFalse(entryFitsDeferred(() => {
      throw new Error("cannot make one")
    }))
  })

  it.effect("a batcher made with the fallback hands out real Deferreds, completed by the engine", () =>
    Effect.gen(function*() {
      const batcher = yield* internal.make(
        { process: (batch: ReadonlyArray<number>) => Effect.succeed(batch.map((n) => n * 2)), maxBatchSize: 2 },
        costMethods,
        entriesWrapDeferreds
      )
      const [a, b] = yield* batcher.offerAll([1, 2])
      assert.notInstanceOf(a, DeferredEntry)
      assert.strictEqual(Object.getPrototypeOf(a), realPrototype, "made by Deferred.makeUnsafe")
      yield* settle
      assert.deepStrictEqual(yield* Deferred.poll(b), Exit.succeed(4) as any)
      assert.strictEqual(yield* Deferred.await(a), 2)
    }))

  it.effect("a batcher made the usual way hands out its entries as the Deferreds", () =>
    Effect.gen(function*() {
      const batcher = yield* Batcher.make({ process: (batch: ReadonlyArray<number>) => Effect.succeed(batch) })
      const deferred = yield* batcher.offer(1)
      if (offerEntries === entriesAreDeferreds) assert.instanceOf(deferred, DeferredEntry)
      else assert.strictEqual(Object.getPrototypeOf(deferred), realPrototype)
    }))
})
