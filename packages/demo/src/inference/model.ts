/**
 * The model service: a batcher in front of the simulated accelerator, provided
 * as a `Layer`, that batches prompts by a token budget.
 */
import { Context, Layer } from "effect"
import { Batcher } from "effect-dynamic-batcher"
import type { BatcherConfigError } from "effect-dynamic-batcher"
import type { AcceleratorProfile } from "./accelerator.ts"
import { runBatch } from "./accelerator.ts"
import type { Completion, Prompt } from "./prompts.ts"

/** The model: submit a prompt, get its completion. */
export class Model extends Context.Service<Model, Batcher.Batcher<Prompt, Completion>>()("demo/Model") {}

/** The most tokens in one batch. */
export const TOKEN_BUDGET = 32_000

/**
 * Provides `Model`, running batches on an accelerator with `profile`: a
 * batch holds at most `TOKEN_BUDGET` tokens and at most 256 prompts, and goes
 * as soon as the accelerator is free (`dispatch: "idle"`).
 */
export const modelLayer = (profile: AcceleratorProfile): Layer.Layer<Model, BatcherConfigError> =>
  Batcher.layer(Model, {
    process: runBatch(profile),
    targetBatchCost: TOKEN_BUDGET,
    maxBatchSize: 256,
    dispatch: "idle"
  })
