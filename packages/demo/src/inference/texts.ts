/**
 * The texts of the inference part: sentences of varied length, generated with
 * a fixed seed so every run embeds the same work.
 */
import { seededRandom } from "../random.ts"

const SEED = 0x5eed
const WORDS = (
  "the batcher packs texts into batches by their token count so the model runs fewer larger calls " +
  "while every caller still awaits its own embedding search ranking retrieval query document passage"
).split(" ")

/** A word: mostly common ones, sometimes a rare made-up one, so the texts use much of the vocabulary. */
const word = (random: () => number): string =>
  random() < 0.7 ? WORDS[Math.floor(random() * WORDS.length)] : `term${Math.floor(random() * 50_000)}`

/**
 * A text length in words, shaped like search traffic: 70% short queries
 * (2–16 words), 25% passages (16–64), 5% long documents (64–127).
 */
const textLength = (random: () => number): number => {
  const kind = random()
  const [min, max] = kind < 0.7 ? [2, 16] : kind < 0.95 ? [16, 64] : [64, 127]
  return min + Math.floor(random() * (max - min))
}

/**
 * `count` texts of varied lengths; the same on every run.
 *
 * **Example**
 * ```ts
 * generateTexts(3) // three sentences, identical on every call
 * ```
 */
export const generateTexts = (count: number): ReadonlyArray<string> => {
  const random = seededRandom(SEED)
  return Array.from({ length: count }, () => Array.from({ length: textLength(random) }, () => word(random)).join(" "))
}
