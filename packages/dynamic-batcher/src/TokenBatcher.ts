/**
 * Token batching, as the original's `TokenBatcher`: the cost of a record is
 * its number of tokens, so a batch fills up to a token budget — what an LLM
 * or an embeddings API is limited by.
 *
 * A record estimates its own tokens with `estimateTokens()` (preferred over
 * `estimateCost()`); `Prompt` is a ready record for text. The knobs take
 * token-named aliases: `targetBatchTokens`, `tokenEstimator`,
 * `defaultTokenEstimate`. Everything else is `Batcher`'s.
 *
 * @since 0.1.0
 */
import type { Context, Effect, Scope } from "effect"
import { Layer } from "effect"
import type * as Batcher from "./Batcher.ts"
import type { BatcherConfigError } from "./BatcherError.ts"
import * as internal from "./internal/batcher.ts"
import { tokenMethods } from "./internal/cost.ts"
import { keepShape } from "./internal/shapes.ts"

/**
 * A record that knows how many tokens it holds.
 *
 * @category models
 * @since 0.1.0
 */
export interface TokenEstimator {
  estimateTokens(): number
}

/**
 * A text prompt as a record: `estimateTokens()` is `floor(text.length / 4) + 1`,
 * the usual rough count of about four characters per token.
 *
 * **Example**
 *
 * ```ts
 * import { TokenBatcher } from "effect-dynamic-batcher"
 *
 * new TokenBatcher.Prompt("Summarize this paragraph.").estimateTokens() // 7
 * ```
 *
 * @category models
 * @since 0.1.0
 */
export class Prompt implements TokenEstimator {
  readonly text: string
  constructor(text: string) {
    this.text = text
  }
  estimateTokens(): number {
    return Math.floor(this.text.length / 4) + 1
  }
}

/**
 * The options of a token batcher: `Batcher.Options`, where each cost knob may
 * also be given by its token name. A token name wins over its cost name.
 *
 * @category models
 * @since 0.1.0
 */
export type Options<Rec, Res, E = never, R = never> = Batcher.Options<Rec, Res, E, R> & TokenOptions<Rec>

/**
 * The token names of the cost knobs.
 *
 * @category models
 * @since 0.3.0
 */
export interface TokenOptions<Rec> {
  /**
   * The token budget of a batch: alias of `targetBatchCost`.
   * @default 32_000
   */
  readonly targetBatchTokens?: number | undefined
  /** Counts a record's tokens: alias of `costEstimator`. */
  readonly tokenEstimator?: ((record: Rec) => number) | undefined
  /**
   * The tokens of a record when nothing else counts them: alias of `defaultCost`.
   * @default 1
   */
  readonly defaultTokenEstimate?: number | undefined
}

const toBatcherOptions = <Rec, Res, E, R>(options: Options<Rec, Res, E, R>): Batcher.Options<Rec, Res, E, R> => {
  const { defaultTokenEstimate, targetBatchTokens, tokenEstimator, ...rest } = options
  return {
    ...rest,
    targetBatchCost: targetBatchTokens ?? options.targetBatchCost,
    costEstimator: tokenEstimator ?? options.costEstimator,
    defaultCost: defaultTokenEstimate ?? options.defaultCost
  }
}

/**
 * Starts a token batcher in the current `Scope`: a `Batcher` whose cost is
 * tokens. Records are counted by `tokenEstimator`, else their own
 * `estimateTokens()`, else `estimateCost()`, else `defaultTokenEstimate`.
 *
 * **Example**
 *
 * ```ts
 * import { Effect } from "effect"
 * import { TokenBatcher } from "effect-dynamic-batcher"
 *
 * const program = Effect.scoped(Effect.gen(function*() {
 *   const llm = yield* TokenBatcher.make({
 *     process: (prompts: ReadonlyArray<TokenBatcher.Prompt>) =>
 *       Effect.succeed(prompts.map((p) => `echo: ${p.text}`)),
 *     targetBatchTokens: 8_192
 *   })
 *   return yield* llm.submit(new TokenBatcher.Prompt("Hello"))
 * }))
 * ```
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = <Rec, Res, E = never, R = never>(
  options: Options<Rec, Res, E, R>
): Effect.Effect<Batcher.Batcher<Rec, Res, E>, BatcherConfigError, Scope.Scope | R> =>
  internal.make(toBatcherOptions(options), tokenMethods)

/**
 * A `Layer` that provides a token batcher under `key`; see `Batcher.layer`.
 *
 * @category layers
 * @since 0.1.0
 */
export const layer = <Self, Rec, Res, E, R = never>(
  key: Context.Key<Self, Batcher.Batcher<Rec, Res, E>>,
  options: Options<Rec, Res, E, R>
): Layer.Layer<Self, BatcherConfigError, R> => Layer.effect(key, make(options))

// An inert prompt keeps the hidden class the cost function sees for prompts alive (see `keepShape`).
keepShape(new Prompt(""))
