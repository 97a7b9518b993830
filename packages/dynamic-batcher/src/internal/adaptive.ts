/**
 * Adaptive batching (`adaptive`) and predictive admission (`admission:
 * "predictive"`): a model of how long `process` takes for a batch of n
 * records, learnt online, and the controller that picks the batch cap and
 * the wait from it.
 *
 * The control law. A record's latency (acceptance to result) is about its
 * batch's wait, the batch ahead of it still in `process`, and its own batch:
 * `wait + 2·T(n)`, with `T(n) = fixed + perRecord·n` fitted by least squares
 * over the recent batches (exponential forgetting, so a device that slows
 * down is relearnt within tens of batches). From the model:
 *
 * 1. The cap is the largest whose `2·T(cap)` fits in `γ·target`: the biggest,
 *    most efficient batches the latency target allows.
 * 2. With `dispatch: "full"`, the wait is 1.2 times the time of a batch of
 *    the recent mean size n̄: the next batch gathers while the device runs
 *    this one. A shorter wait seals batches faster than the device takes
 *    them, and they queue in the handoff, each costing a batch time of
 *    latency (so a shorter wait is no cure for a late percentile); a longer
 *    one only adds latency. Since a wait gathers `λ·wait` records,
 *    `wait = 1.2·T(n̄)` settles at `1.2·fixed / (1 − 1.2·λ·perRecord)`, just
 *    above the shortest stable wait. With `"idle"`, a batch leaves as soon
 *    as a slot frees and the wait only seals batches that then queue, so it
 *    is as long as the budget allows, `γ·target − 2·T(n̄)`, and no shorter
 *    than the `"full"` one. Always within `batchTimeout`.
 * 3. `γ` (0.1 … 1) corrects the model with what is measured: the chosen
 *    percentile of the recent records' latencies (each batch's oldest record
 *    stands for all of its records, an upper bound). Above the target it
 *    shrinks by a fifth; under 80% of it it grows by 0.05: additive increase,
 *    multiplicative decrease, as in Clipper, but on the model's headroom
 *    rather than on the cap itself, so one step never undoes what the model
 *    knows. It shrinks only while the batches reach the cap (their mean
 *    size at least 80% of it): when they do not, the latency comes from the
 *    wait and the device, and a lower cap would only fall below the size
 *    that keeps up with the arrivals. Each step waits for fresh evidence,
 *    none from before the last step: enough records to see the percentile,
 *    in as many batches (up to the 64 remembered), since each batch's oldest
 *    record stands for all of its records.
 * 4. Overload: when a full batch or more waits in the queue beyond the
 *    batches formed (or producers wait for room), batch after batch, the
 *    queue is what makes records late and no cap meets the target; then
 *    throughput is all that helps, and the cap grows (×1.5 per batch, up to
 *    `maxBatchSize`) until the backlog clears. `γ` is left alone meanwhile,
 *    since the latency is the queue's, not the batch's. Once the backlog is
 *    gone the cap returns to the model's, by a quarter per batch.
 *
 * Why a model and not AIMD on the cap alone: AIMD probes, so it spends time
 * over the target on every increase, and under overload it shrinks the
 * batches exactly when the device needs them largest; the model gives the
 * right cap from a few batches of different sizes, and the same model
 * predicts, for `admission: "predictive"`, when a record would start.
 */

/** The forgetting factor per batch: a batch 20 batches old weighs 0.36 of a new one. */
const FORGET = 0.95
/** Batches remembered for the latency percentile. */
const WINDOW = 64
/** Batches in a row with a backlog before the cap grows past the model's. */
const OVERLOAD_STREAK = 3

/** `T(n) = fixed + perRecord·n`, in milliseconds, fitted by weighted least squares over the recent batches. */
export class BatchTimeModel {
  private weight = 0
  private sumN = 0
  private sumT = 0
  private sumNN = 0
  private sumNT = 0
  /** Whether sizes far enough apart were ever seen to fit the slope. */
  fitted = false
  /** Batches observed. */
  observed = 0
  fixed = 0
  perRecord = 0
  /** The recent batches' mean size, weighted as in the fit. */
  meanSize = 0

  /** A batch of `size` records took `millis` in `process`. */
  observe(size: number, millis: number): void {
    this.weight = this.weight * FORGET + 1
    this.sumN = this.sumN * FORGET + size
    this.sumT = this.sumT * FORGET + millis
    this.sumNN = this.sumNN * FORGET + size * size
    this.sumNT = this.sumNT * FORGET + size * millis
    this.observed++
    const meanN = this.sumN / this.weight
    const meanT = this.sumT / this.weight
    const variance = this.sumNN / this.weight - meanN * meanN
    this.meanSize = meanN
    if (variance > 0.01 * meanN * meanN && variance > 0.25) {
      const slope = (this.sumNT / this.weight - meanN * meanT) / variance
      this.perRecord = Math.max(0, slope)
      this.fixed = Math.max(0, meanT - this.perRecord * meanN)
      this.fitted = true
    } else if (this.fitted) {
      // Sizes that barely differ cannot tell the fixed part from the
      // per-record part: the last slope is kept and the line moves to the
      // times measured now, so a device that slowed down is still seen.
      this.fixed = Math.max(0, meanT - this.perRecord * meanN)
    } else {
      // Never two sizes apart: every millisecond is taken as per-record,
      // which predicts a bigger batch as slow as it can be (the cautious side
      // for admission; the controller imposes no cap from it).
      this.perRecord = meanN > 0 ? meanT / meanN : 0
      this.fixed = 0
    }
  }

  /** Whether it has seen enough batches to predict. */
  get ready(): boolean {
    return this.observed >= 2
  }

  /** The predicted time of a batch of `size` records, in milliseconds. */
  predict(size: number): number {
    return this.fixed + this.perRecord * size
  }

  /** The largest size in `[low, high]` whose predicted time is at most `budget`; `low` when none is. */
  largestWithin(budget: number, low: number, high: number): number {
    if (this.perRecord <= 0) return this.fixed <= budget ? high : low
    // The epsilon keeps a size that fits exactly from rounding down below itself.
    const size = Math.floor((budget - this.fixed) / this.perRecord + 1e-9)
    return Math.min(high, Math.max(low, size))
  }
}

/** What the controller wants in force: the batch cap and the wait (milliseconds). */
export interface Setting {
  readonly cap: number
  readonly waitMs: number
}

/** The bounds the controller stays within: the configured knobs. */
export interface Bounds {
  readonly dispatch: "full" | "idle"
  readonly minBatchSize: number
  readonly maxBatchSize: number
  readonly batchTimeoutMs: number
}

/** The adaptive controller of one batcher; see the module comment for its law. */
export class AdaptiveController {
  readonly model: BatchTimeModel
  readonly targetMs: number
  readonly percentile: number
  /** The model's headroom: how much of the target it plans for. */
  gamma = 1
  cap: number
  waitMs: number
  private bounds: Bounds
  /** Latency (ms) and record count of the last `WINDOW` batches, a ring. */
  private readonly latencies = new Float64Array(WINDOW)
  private readonly weights = new Float64Array(WINDOW)
  private next = 0
  private filled = 0
  /** Records, and batches, measured since `gamma` last moved. */
  private fresh = 0
  private freshBatches = 0
  private overloadStreak = 0

  constructor(model: BatchTimeModel, targetMs: number, percentile: number, bounds: Bounds) {
    this.model = model
    this.targetMs = targetMs
    this.percentile = percentile
    this.bounds = bounds
    this.cap = bounds.maxBatchSize
    this.waitMs = Math.min(bounds.batchTimeoutMs, targetMs / 4)
  }

  /** The configured knobs changed (`reconfigure`): the setting is clamped into them at once. */
  rebound(bounds: Bounds): Setting {
    this.bounds = bounds
    this.cap = Math.min(bounds.maxBatchSize, Math.max(bounds.minBatchSize, this.cap))
    this.waitMs = Math.min(bounds.batchTimeoutMs, this.waitMs)
    return this
  }

  /**
   * A batch of `size` records settled, whose oldest record waited
   * `latencyMs` from acceptance to its result (the model has seen the batch
   * already); `backlogged` when a full batch (`cap`) or more waits in the
   * queue beyond the batches formed, or producers wait for room. Returns the
   * setting to put in force.
   */
  observe(size: number, latencyMs: number, backlogged: boolean): Setting {
    this.latencies[this.next] = latencyMs
    this.weights[this.next] = size
    this.next = (this.next + 1) % WINDOW
    if (this.filled < WINDOW) this.filled++
    this.fresh += size
    this.freshBatches++
    this.overloadStreak = backlogged ? this.overloadStreak + 1 : 0
    const evidence = this.evidence()
    if (this.overloadStreak === 0 && this.fresh >= evidence && this.freshBatches >= Math.min(WINDOW, evidence)) {
      const measured = this.measured()
      // Only a cap the batches reach can shorten their latency: a lower one
      // would only drop below the size that keeps up with the arrivals.
      if (measured > this.targetMs && this.model.meanSize >= 0.8 * this.cap) {
        this.gamma = Math.max(0.1, this.gamma * 0.8)
        this.forget()
      } else if (measured < 0.8 * this.targetMs && this.gamma < 1) {
        this.gamma = Math.min(1, this.gamma + 0.05)
        this.forget()
      }
    }
    const model = this.model
    if (!model.ready) return this
    const { batchTimeoutMs, dispatch, maxBatchSize, minBatchSize } = this.bounds
    const budget = this.gamma * this.targetMs
    // Until two sizes apart were seen, what a bigger batch costs is unknown: no cap is imposed.
    const modelCap = model.fitted ? model.largestWithin(budget / 2, minBatchSize, maxBatchSize) : maxBatchSize
    if (this.overloadStreak >= OVERLOAD_STREAK) {
      this.cap = Math.min(maxBatchSize, Math.max(modelCap, Math.ceil(this.cap * 1.5)))
    } else if (this.overloadStreak === 0) {
      this.cap = this.cap > modelCap ? Math.max(modelCap, Math.floor(this.cap * 0.75)) : modelCap
    }
    const typical = model.predict(Math.min(this.cap, model.meanSize))
    const wait = dispatch === "full" ? 1.2 * typical : Math.max(1.2 * typical, budget - 2 * typical)
    this.waitMs = Math.min(batchTimeoutMs, Math.max(0, Math.round(wait)))
    return this
  }

  /** `gamma` moved: the next step judges only latencies measured under it. */
  private forget(): void {
    this.fresh = 0
    this.freshBatches = 0
    this.filled = 0
    this.next = 0
  }

  /** Records needed to see the percentile: a hundred for p99, never fewer than 16. */
  private evidence(): number {
    return Math.max(16, Math.ceil(1 / (1 - this.percentile)))
  }

  /** The percentile of the remembered latencies, each batch weighing its record count. */
  measured(): number {
    const order = Array.from({ length: this.filled }, (_, i) => i)
    order.sort((a, b) => this.latencies[a] - this.latencies[b])
    let total = 0
    for (const i of order) total += this.weights[i]
    const rank = this.percentile * total
    let seen = 0
    for (const i of order) {
      seen += this.weights[i]
      if (seen >= rank) return this.latencies[i]
    }
    return 0
  }
}

/**
 * When a record would reach `process`, in milliseconds from now, for
 * `admission: "predictive"`: `ahead` records go before it in batches of
 * `cap`, `slots` at a time, each taking the model's time, after the first
 * slot frees in `soonestFreeMs`. The batch's own wait is left out: a record
 * is turned away only when the device alone cannot start it in time.
 */
export const predictedStartMs = (
  model: BatchTimeModel,
  ahead: number,
  cap: number,
  slots: number,
  soonestFreeMs: number
): number => Math.max(0, soonestFreeMs) + Math.floor(ahead / cap / slots) * model.predict(cap)
