/**
 * A small deterministic pseudo-random generator, so that every run of the demo
 * sends the same work and builds the same model weights.
 */

/**
 * mulberry32: a generator of numbers uniform in [0, 1) from a 32-bit seed.
 *
 * **Example**
 * ```ts
 * const random = seededRandom(42)
 * random() // the same number on every run
 * ```
 */
export const seededRandom = (seed: number): () => number => {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296
  }
}
