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

const call = (f: () => unknown, source: string): number | InvalidCostError => {
  let cost: unknown
  try {
    cost = f()
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

const methodOf = (record: unknown, name: EstimateMethod): (() => unknown) | undefined => {
  if (typeof record !== "object" || record === null) return undefined
  const method = (record as Record<EstimateMethod, unknown>)[name]
  return typeof method === "function" ? method as () => unknown : undefined
}

/** Builds the cost function of a batcher from its options. */
export const makeCostOf = <Rec>(
  costEstimator: ((record: Rec) => number) | undefined,
  defaultCost: number,
  methods: ReadonlyArray<EstimateMethod>
): CostOf<Rec> =>
(record, explicit) => {
  if (explicit !== undefined) return check(explicit, "cost")
  if (costEstimator !== undefined) return call(() => costEstimator(record), "costEstimator")
  for (const name of methods) {
    const method = methodOf(record, name)
    if (method !== undefined) return call(() => method.call(record), `record.${name}()`)
  }
  return defaultCost
}
