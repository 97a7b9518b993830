/**
 * Keeps the hidden classes V8 gave the batcher's objects alive, and stable,
 * while no batcher runs.
 *
 * V8 gives each object a hidden class (a "map") for its set of fields,
 * reached from its class's initial map by one transition per field the
 * constructor assigns. Those transitions are weak: once every instance of a
 * class has died, a full garbage collection drops the maps, and with them the
 * optimized code specialised to them (V8's `--trace-deopt` reports "embedded
 * weak objects cleared"). A batcher started after that (one per job, per
 * request scope, per test) then runs unoptimized code until V8 has relearned
 * every function on its path (measured: a 200,000-record `offerAll` and its
 * awaits, on a new batcher after a full collection, took 45-48 ms before,
 * 37 ms with the shapes kept). A batcher that lives on keeps most of its
 * objects, and the same probe on one long-lived batcher showed no
 * measurable difference.
 *
 * So each module keeps one inert instance of its hot classes here, made when
 * it loads and never used: it holds no record, no user context and no fiber.
 * Its fields are first made to accept any value, so no later store can
 * change a field's representation (a small integer becoming a fraction, an
 * object field receiving `undefined`), which would replace the map again.
 */
const kept: Array<object> = []

/** The instances kept so far (the tests check that a running batcher's objects share their hidden classes). */
export const keptInstances: ReadonlyArray<object> = kept

/**
 * Keeps `instance` alive for the life of the process, for its hidden class,
 * after widening each of its own fields to any value; returns it. Call it
 * with an instance built the way the batcher builds them (the same
 * constructor, or an object literal with the same fields in the same order).
 */
export const keepShape = <A extends object>(instance: A): A => {
  const fields = instance as Record<string, unknown>
  for (const key of Object.keys(fields)) {
    const value = fields[key]
    // An object then a small integer: the field now holds anything, and is no longer constant.
    fields[key] = undefined
    fields[key] = 0
    fields[key] = value
  }
  kept.push(instance)
  return instance
}
