/**
 * effect-dynamic-batcher: dynamic, cost-budgeted batching for Effect.
 *
 * @since 0.1.0
 */

/**
 * The batcher: `make`, `layer`, the `submit` accessor and the `Batcher` model.
 *
 * @since 0.1.0
 */
export * as Batcher from "./Batcher.ts"

/**
 * Token batching: a `Batcher` whose cost is tokens, and the `Prompt` record.
 *
 * @since 0.1.0
 */
export * as TokenBatcher from "./TokenBatcher.ts"

/**
 * @since 0.1.0
 */
export { BatchStats } from "./BatchStats.ts"

/**
 * @since 0.1.0
 */
export {
  BatcherConfigError,
  type BatcherError,
  BatcherShutdownError,
  DeadlineExceededError,
  InvalidCostError,
  InvalidSubmitError,
  ResultCountMismatchError
} from "./BatcherError.ts"
