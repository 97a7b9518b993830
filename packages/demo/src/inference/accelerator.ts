/**
 * A simulated accelerator: running a batch takes a fixed launch cost plus a
 * cost per token of the batch, as a real timed wait.
 */
import { Effect } from "effect"
import type { Completion, Prompt } from "./prompts.ts"

/** How long the accelerator takes: per launch, and per token of a batch. */
export interface AcceleratorProfile {
  readonly launchMs: number
  readonly perTokenMs: number
}

/** The demo's accelerator: 4 ms per launch, 0.5 µs per token (2 million tokens per second). */
export const defaultAccelerator: AcceleratorProfile = { launchMs: 4, perTokenMs: 0.0005 }

/** The tokens of all `prompts` together. */
export const totalTokens = (prompts: ReadonlyArray<Prompt>): number => {
  let tokens = 0
  for (const prompt of prompts) tokens += prompt.estimateCost()
  return tokens
}

/** How long, by the cost model, one launch over `tokens` tokens takes. */
export const launchTimeMs = (profile: AcceleratorProfile, tokens: number): number =>
  profile.launchMs + tokens * profile.perTokenMs

/** How long, by the cost model, `prompts` take when each is launched alone. */
export const unbatchedTimeMs = (profile: AcceleratorProfile, prompts: ReadonlyArray<Prompt>): number =>
  prompts.length * profile.launchMs + totalTokens(prompts) * profile.perTokenMs

/**
 * Runs one batch on the accelerator: waits for the batch's launch time, then
 * returns one completion per prompt, in order.
 */
export const runBatch =
  (profile: AcceleratorProfile) => (batch: ReadonlyArray<Prompt>): Effect.Effect<ReadonlyArray<Completion>> =>
    Effect.as(
      Effect.sleep(launchTimeMs(profile, totalTokens(batch))),
      batch.map((prompt): Completion => ({
        promptId: prompt.id,
        promptTokens: prompt.estimateCost(),
        text: `completion of prompt #${prompt.id}`
      }))
    )
