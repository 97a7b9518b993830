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
  InvalidCostError,
  ResultCountMismatchError
} from "./BatcherError.ts"
