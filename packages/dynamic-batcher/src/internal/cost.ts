/**
 * How a record's cost is found: an explicit cost, else the `costEstimator`,
 * else the record's own estimate (`estimateTokens()` first for token
 * batchers, then `estimateCost()`), else `defaultCost`. Anything but a finite
 * number >= 0, or an estimator that throws, is an `InvalidCostError`.
 */
import { formatValue, InvalidCostError } from "../BatcherError.ts"

/** Computes one record's cost, or the error that explains why it cannot. */
export type CostOf<Rec> = (record: Rec, explicit: number | undefined) => number | InvalidCostError

const check = (cost: unknown, source: string): number | InvalidCostError =>
  typeof cost === "number" && cost >= 0 && cost < Number.POSITIVE_INFINITY
    ? cost
    : new InvalidCostError({
      reason: `${source} must be a finite number >= 0, got ${formatValue(cost)}`,
      cost
    })

/** The estimate `f` returns, checked; a throw becomes the error. */
const estimate = <Rec>(f: (this: Rec) => unknown, self: Rec, source: string): number | InvalidCostError => {
  let cost: unknown
  try {
    cost = f.call(self)
  } catch (error) {
    return new InvalidCostError({
      reason: `${source} threw: ${error instanceof Error ? error.message : formatValue(error)}`
    })
  }
  return check(cost, source)
}

/** The methods a record may estimate its own cost with, in order of preference. */
export type EstimateMethod = "estimateTokens" | "estimateCost"

/** Plain batchers ask the record's `estimateCost()`. */
export const costMethods: ReadonlyArray<EstimateMethod> = ["estimateCost"]

/** Token batchers prefer the record's `estimateTokens()`. */
export const tokenMethods: ReadonlyArray<EstimateMethod> = ["estimateTokens", "estimateCost"]

/**
 * Builds the cost function of a batcher from its options. It runs once per
 * record, so it allocates nothing: records that are not objects skip the
 * method lookup, and the estimator runs without a closure around it.
 */
export const makeCostOf = <Rec>(
  costEstimator: ((record: Rec) => number) | undefined,
  defaultCost: number,
  methods: ReadonlyArray<EstimateMethod>
): CostOf<Rec> => {
  if (costEstimator !== undefined) {
    const viaEstimator = function(this: Rec) {
      return costEstimator(this)
    }
    return (record, explicit) =>
      explicit !== undefined ? check(explicit, "cost") : estimate(viaEstimator, record, "costEstimator")
  }
  const sources = methods.map((name) => `record.${name}()`)
  return (record, explicit) => {
    if (explicit !== undefined) return check(explicit, "cost")
    if (typeof record !== "object" || record === null) return defaultCost
    for (let i = 0; i < methods.length; i++) {
      const method = (record as Record<EstimateMethod, unknown>)[methods[i]]
      if (typeof method === "function") return estimate(method as (this: Rec) => unknown, record, sources[i])
    }
    return defaultCost
  }
}
