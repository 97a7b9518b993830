/**
 * How a record's cost is found: an explicit cost, else the `costEstimator`,
 * else the record's own `estimateCost()`, else `defaultCost`. Anything but a
 * finite number >= 0, or an estimator that throws, is an `InvalidCostError`.
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

const hasMethod = (record: unknown, name: string): boolean =>
  typeof record === "object" && record !== null && typeof (record as any)[name] === "function"

/** Builds the cost function of a batcher from its options. */
export const makeCostOf = <Rec>(
  costEstimator: ((record: Rec) => number) | undefined,
  defaultCost: number
): CostOf<Rec> =>
(record, explicit) => {
  if (explicit !== undefined) return check(explicit, "cost")
  if (costEstimator !== undefined) return call(() => costEstimator(record), "costEstimator")
  if (hasMethod(record, "estimateCost")) return call(() => (record as any).estimateCost(), "record.estimateCost()")
  return defaultCost
}
