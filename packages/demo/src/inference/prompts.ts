/**
 * The prompts of the inference part: records that know their own size in
 * tokens, generated with a fixed seed so every run sends the same work.
 */
import type { Batcher } from "effect-dynamic-batcher"

/**
 * One prompt for the model. Its cost, for the batcher, is its size in tokens:
 * the batcher calls `estimateCost()` since no `costEstimator` is given.
 */
export class Prompt implements Batcher.CostEstimator {
  readonly id: number
  readonly text: string

  constructor(id: number, text: string) {
    this.id = id
    this.text = text
  }

  /** The prompt's size in tokens, by the usual rule of thumb of four characters per token. */
  estimateCost(): number {
    return Math.floor(this.text.length / 4) + 1
  }
}

/** What the model returns for one prompt. */
export interface Completion {
  readonly promptId: number
  readonly promptTokens: number
  readonly text: string
}

const SEED = 0x5eed
const LONGEST_PROMPT = 16_000
const WORDS = "the batcher packs prompts into batches by their token count so the accelerator launches less often "
const CORPUS = WORDS.repeat(Math.ceil(LONGEST_PROMPT / WORDS.length) + 1)

/** A small deterministic pseudo-random generator (mulberry32), uniform in [0, 1). */
const seededRandom = (seed: number): () => number => {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296
  }
}

/**
 * A prompt length in characters, shaped like chat traffic: 70% short
 * (40–600), 25% medium (600–4,000), 5% long (4,000–16,000).
 */
const promptLength = (random: () => number): number => {
  const kind = random()
  const [min, max] = kind < 0.7 ? [40, 600] : kind < 0.95 ? [600, 4_000] : [4_000, LONGEST_PROMPT]
  return min + Math.floor(random() * (max - min))
}

/** `count` prompts of varied lengths, with ids `0 … count - 1`; the same on every run. */
export const generatePrompts = (count: number): ReadonlyArray<Prompt> => {
  const random = seededRandom(SEED)
  return Array.from({ length: count }, (_, id) => {
    const length = promptLength(random)
    const offset = Math.floor(random() * WORDS.length)
    return new Prompt(id, CORPUS.slice(offset, offset + length))
  })
}
