/** What a cell is (one peer × one workload at one size) and what it reports. */

export type WorkloadName = "W1" | "W1s" | "W1b" | "W2" | "W3" | "W4" | "W6"

/** How the producers reach the peer: a fiber/promise per record, or the bulk path. */
export type Via = "submit" | "bulk"

/**
 * How `process` completes. `"async"` (every cell unless stated): through a
 * Promise, resolved on a later microtask (W1, W1s, W1b, W3, W5) or from the
 * device's timer / `setImmediate` callback (W2, W4), as a GPU client, an HTTP
 * call or a database driver does; Effect peers get the very same Promise
 * through `Effect.promise`. `"sync"` (extra rows, Effect peers only, no
 * floors): `Effect.sync`, or `Effect.callback` resumed straight from the
 * device's callback.
 */
export type ProcessMode = "async" | "sync"

export interface CellSpec {
  /** Which table section the cell belongs to: its workload, or "W5" for the scaling cells. */
  readonly group: WorkloadName | "W5"
  readonly workload: WorkloadName
  readonly peer: string
  readonly via: Via
  readonly process: ProcessMode
  /**
   * Records (W1, W1b, W4), producers (W1s, W2), sequential submits (W3) or
   * milliseconds per phase (W6, the same as `durationMs`).
   */
  readonly size: number
  /** W1s: sequential submits per producer. */
  readonly perProducer?: number | undefined
  /** W2: how long the producers loop; W6: how long each load phase lasts. */
  readonly durationMs?: number | undefined
  readonly windowMs: number
  /** W6: the time series' window, and how long a run waits for the backlog after the last phase. */
  readonly steps?: { readonly seriesWindowMs: number; readonly drainMs: number } | undefined
  readonly runs: number
  readonly warmup: {
    readonly runs: number
    /** A smaller size for warm-up runs (W3), default `size`. */
    readonly size?: number | undefined
    /** A shorter duration for warm-up runs (W2), default `durationMs`. */
    readonly durationMs?: number | undefined
  }
}

/** One run's numbers, by metric name. */
export type Metrics = Record<string, number>

/**
 * W6: one window of a run's time series (milliseconds from the start of the
 * first phase): records completed in it per second, the p99 latency of the
 * records submitted in it, and the cap and wait the batcher had in force at
 * its end (`BatchStats.effectiveMaxBatchSize`, `effectiveBatchTimeoutMs`).
 */
export interface SeriesPoint {
  readonly fromMs: number
  readonly phase: string
  readonly recPerSec: number
  readonly p99Ms: number
  readonly cap: number
  readonly waitMs: number
}

export interface CellResult {
  readonly key: string
  readonly spec: CellSpec
  readonly status: "ok" | "skipped" | "failed"
  readonly reason?: string | undefined
  readonly runs: ReadonlyArray<Metrics>
  /** Per metric, the median over the runs. */
  readonly median: Metrics
  readonly min: Metrics
  readonly max: Metrics
  /** W6: the time series of the last measured run. */
  readonly series?: ReadonlyArray<SeriesPoint> | undefined
  /** Wall time of the whole cell, child process included. */
  readonly wallMs: number
}

/**
 * A cell's identity: the same workload, peer, path, size and process mode is
 * the same measurement. Asynchronous cells keep the key they had before the
 * mode existed; synchronous ones end in `:sync`.
 */
export const cellKey = (spec: Pick<CellSpec, "workload" | "peer" | "via" | "size" | "process">): string =>
  `${spec.workload}/${spec.peer}/${spec.via}@${spec.size}${spec.process === "sync" ? ":sync" : ""}`

/** The line prefix a cell child writes its result with. */
export const RESULT_PREFIX = "@@bench-result "
