/**
 * How a record's cost is found: an explicit cost, else the `costEstimator`,
 * else the record's own estimate (`estimateTokens()` first for token
 * batchers, then `estimateCost()`), else `defaultCost`. Anything but a finite
 * number >= 0, or an estimator that throws, is an `InvalidCostError`.
 */
import { formatValue, InvalidCostError } from "../BatcherError.ts"
import { keepShape } from "./shapes.ts"

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

/** Whether `record` may carry an estimate method: only objects are looked into. */
export const canEstimateItself = (record: unknown): boolean => typeof record === "object" && record !== null

/** The methods a record may estimate its own cost with, in order of preference. */
export type EstimateMethod = "estimateTokens" | "estimateCost"

/** Plain batchers ask the record's `estimateCost()`. */
export const costMethods: ReadonlyArray<EstimateMethod> = ["estimateCost"]

/** Token batchers prefer the record's `estimateTokens()`. */
export const tokenMethods: ReadonlyArray<EstimateMethod> = ["estimateTokens", "estimateCost"]

/**
 * The cost function of a batcher, built from its options. It runs once per
 * record, so it allocates nothing, and it is a method of one class, not a
 * closure made per batcher: every batcher's calls then reach the same
 * function, which V8 can inline into the per-record loops. Records that are
 * not objects skip the method lookup.
 */
export class CostOf<Rec> {
  private readonly estimator: ((this: Rec) => unknown) | undefined
  private readonly defaultCost: number
  private readonly methods: ReadonlyArray<EstimateMethod>
  private readonly sources: ReadonlyArray<string>
  /**
   * The cost `of` gives a record without an explicit cost that cannot
   * estimate itself (`canEstimateItself`): `defaultCost`, unless a
   * `costEstimator` prices every record (undefined). A loop over many records
   * reads it once instead of calling `of` for each.
   */
  readonly primitiveCost: number | undefined

  constructor(
    costEstimator: ((record: Rec) => number) | undefined,
    defaultCost: number,
    methods: ReadonlyArray<EstimateMethod>
  ) {
    this.estimator = costEstimator === undefined ? undefined : function(this: Rec) {
      return costEstimator(this)
    }
    this.defaultCost = defaultCost
    this.methods = methods
    this.sources = methods.map((name) => `record.${name}()`)
    this.primitiveCost = costEstimator === undefined ? defaultCost : undefined
  }

  /** The cost of `record`: `explicit` if given, else its estimate, else the default; or why it has none. */
  of(record: Rec, explicit: number | undefined): number | InvalidCostError {
    if (explicit !== undefined) return check(explicit, "cost")
    if (this.estimator !== undefined) return estimate(this.estimator, record, "costEstimator")
    if (!canEstimateItself(record)) return this.defaultCost
    const methods = this.methods
    for (let i = 0; i < methods.length; i++) {
      const method = (record as Record<EstimateMethod, unknown>)[methods[i]]
      if (typeof method === "function") return estimate(method as (this: Rec) => unknown, record, this.sources[i])
    }
    return this.defaultCost
  }
}

keepShape(new CostOf<unknown>(undefined, 1, costMethods))
