/**
 * Which cells run: the full bench and the smoke run. Every peer runs every
 * workload it can (the bulk path only where the peer has one, only the
 * workloads it names when it names some), with an asynchronous `process`;
 * the Effect peers run W1, W1s, W1b and W2 once more with a synchronous one
 * (extra rows, no floors). W5 runs the Effect floor and ours ("full") at
 * three sizes.
 */
import { peers } from "./peers/index.ts"
import type { Peer } from "./peers/types.ts"
import type { CellSpec, ProcessMode, Via, WorkloadName } from "./spec.ts"
import { cellKey } from "./spec.ts"

export interface Sizes {
  readonly w1: number
  readonly w1sProducers: number
  readonly w1sPerProducer: number
  readonly w1b: number
  readonly w2Producers: number
  readonly w2DurationMs: number
  readonly w2WarmupMs: number
  readonly w3Submits: number
  readonly w3WarmupSubmits: number
  readonly w4: number
  readonly w5: ReadonlyArray<number>
  /** W6: milliseconds per load phase (three phases), in a measured run and in the warm-up run. */
  readonly w6PhaseMs: number
  readonly w6WarmupPhaseMs: number
  /** W6: the time series' window. */
  readonly w6SeriesWindowMs: number
  /** W6: how long a run waits for the backlog after the last phase before releasing the device. */
  readonly w6DrainMs: number
  /** Measured runs per cell. */
  readonly runs: number
  /** Measured runs of the throughput cells (W1, W1s, W1b), which take well under a second each. */
  readonly throughputRuns: number
  readonly warmups: number
}

export const benchSizes: Sizes = {
  w1: 200_000,
  w1sProducers: 1_000,
  w1sPerProducer: 200,
  w1b: 200_000,
  w2Producers: 2_000,
  w2DurationMs: 3_000,
  // At W2's ~215 batches/s, code that runs once per batch takes seconds to be
  // optimized: a batcher's share still rose over its first 4 s (bench README, Method).
  w2WarmupMs: 3_000,
  w3Submits: 300,
  w3WarmupSubmits: 50,
  w4: 100_000,
  w5: [10_000, 100_000, 1_000_000],
  // 3 s per phase: ~60 windows of the adaptive controller's batches in the
  // light phase, thousands in the others; 8 cells of ~13 s keep W6 under 2 min.
  w6PhaseMs: 3_000,
  w6WarmupPhaseMs: 150,
  w6SeriesWindowMs: 500,
  // Enough for every setting that keeps up in the saturating phase to drain
  // the overload phase's backlog (about right: ~14k records at 7.2 rec/ms).
  w6DrainMs: 2_500,
  runs: 5,
  // A median of 5 runs of 200,000 records moved the W1b ratio by up to ±8% from
  // one bench to the next on the same commit (single runs spread 42–55 ms);
  // 11 runs halve that spread and cost ~2 s per cell.
  throughputRuns: 11,
  // Three warm-up runs: timed run by run in a fresh process, neither the
  // Effect floor nor ours reaches its steady state on W1b before the fourth
  // run of 200,000 records (the floor: 387, 329, 302, then ~238 ns/record).
  warmups: 3
}

export const smokeSizes: Sizes = {
  w1: 2_000,
  w1sProducers: 20,
  w1sPerProducer: 100,
  w1b: 2_000,
  w2Producers: 200,
  w2DurationMs: 300,
  w2WarmupMs: 0,
  w3Submits: 20,
  w3WarmupSubmits: 0,
  w4: 2_000,
  w5: [1_000, 2_000, 4_000],
  w6PhaseMs: 250,
  w6WarmupPhaseMs: 0,
  w6SeriesWindowMs: 250,
  w6DrainMs: 0,
  runs: 1,
  throughputRuns: 1,
  warmups: 0
}

/** The throughput cells: W1, W1s, W1b (not their W5 sizes), in either mode. */
export const isThroughput = (spec: CellSpec): boolean =>
  spec.group === "W1" || spec.group === "W1s" || spec.group === "W1b"

/**
 * The cells that run in interleaved rounds (`schedule` in main.ts): the
 * throughput cells and W2, whose floors are ratios between peers of the same
 * workload, each measured over seconds, so a slow stretch of the machine that
 * lands on one peer's runs would move the ratio.
 */
export const runsInRounds = (spec: CellSpec): boolean => isThroughput(spec) || spec.group === "W2"

/** W5 peers: the Effect floor and ours with dispatch "full". */
export const W5_PEERS = ["effect-floor", "ours-full"]

/**
 * Runs and warm-ups for the W5 sizes: small sizes get more runs, and enough
 * warm-up records (~200k) to be as warm as the large ones; 1M gets 3 runs to
 * keep the bench bounded, and W4 at 1M no warm-up (a heap measurement, and a
 * 1M-fiber run takes ~10 s).
 */
const scaledRuns = (size: number, sizes: Sizes, workload: WorkloadName): { runs: number; warmups: number } => {
  if (sizes.runs === 1) return { runs: 1, warmups: 0 }
  if (size >= 1_000_000) return { runs: 3, warmups: workload === "W4" ? 0 : 1 }
  if (size <= 10_000) return { runs: 11, warmups: Math.ceil(200_000 / size) }
  return { runs: sizes.runs, warmups: Math.max(sizes.warmups, Math.ceil(200_000 / size)) }
}

/**
 * The cells to run, each once: a W5 cell that is the same measurement as a
 * W1b/W4 cell (same peer, path and size) is run once and shown in both
 * sections.
 */
export const makePlan = (
  sizes: Sizes,
  selected: ReadonlyArray<Peer> = peers
): { readonly cells: Array<CellSpec>; readonly w5Keys: Array<string> } => {
  const cells: Array<CellSpec> = []
  const w5Keys: Array<string> = []
  const warmup = { runs: sizes.warmups }
  const base = { runs: sizes.runs, warmup }
  const add = (group: WorkloadName | "W5", workload: WorkloadName, peer: Peer, via: Via, rest: Partial<CellSpec>) => {
    if (via === "bulk" && !peer.bulk) return
    if (peer.workloads !== undefined && !peer.workloads.includes(workload)) return
    if (rest.process === "sync" && peer.kind !== "effect") return
    const spec = {
      group,
      workload,
      peer: peer.name,
      via,
      process: "async",
      windowMs: 1,
      size: 0,
      ...base,
      ...rest
    } as CellSpec
    const key = cellKey(spec)
    if (group === "W5") w5Keys.push(key)
    if (!cells.some((cell) => cellKey(cell) === key)) cells.push(spec)
  }
  /** One workload's cells for every selected peer, in each of `modes` (the asynchronous cells first). */
  const everyPeer = (
    workload: WorkloadName,
    via: Via,
    rest: Partial<CellSpec>,
    modes: ReadonlyArray<ProcessMode> = ["async"]
  ) => {
    for (const mode of modes) {
      for (const peer of selected) add(workload, workload, peer, via, { ...rest, process: mode })
    }
  }
  const throughput = { runs: sizes.throughputRuns }
  const both: ReadonlyArray<ProcessMode> = ["async", "sync"]
  everyPeer("W1", "submit", { size: sizes.w1, ...throughput }, both)
  everyPeer("W1s", "submit", { size: sizes.w1sProducers, perProducer: sizes.w1sPerProducer, ...throughput }, both)
  everyPeer("W1b", "bulk", { size: sizes.w1b, ...throughput }, both)
  everyPeer("W2", "submit", {
    size: sizes.w2Producers,
    windowMs: 5,
    durationMs: sizes.w2DurationMs,
    warmup: { runs: sizes.w2WarmupMs > 0 ? 1 : 0, durationMs: sizes.w2WarmupMs }
  }, both)
  everyPeer("W3", "submit", {
    size: sizes.w3Submits,
    windowMs: 10,
    warmup: { runs: sizes.w3WarmupSubmits > 0 ? 1 : 0, size: sizes.w3WarmupSubmits }
  })
  for (const peer of selected) {
    add("W4", "W4", peer, "submit", { size: sizes.w4 })
    add("W4", "W4", peer, "bulk", { size: sizes.w4 })
  }
  // W6: one long run per setting (its numbers are per phase and over time, not a median of runs).
  for (const peer of selected.filter((p) => p.workloads?.includes("W6"))) {
    add("W6", "W6", peer, "submit", {
      size: sizes.w6PhaseMs,
      durationMs: sizes.w6PhaseMs,
      steps: { seriesWindowMs: sizes.w6SeriesWindowMs, drainMs: sizes.w6DrainMs },
      runs: 1,
      warmup: { runs: sizes.w6WarmupPhaseMs > 0 ? 1 : 0, durationMs: sizes.w6WarmupPhaseMs }
    })
  }
  for (const peer of selected.filter((p) => W5_PEERS.includes(p.name))) {
    for (const size of sizes.w5) {
      const scaled = (workload: WorkloadName) => {
        const { runs, warmups } = scaledRuns(size, sizes, workload)
        return { size, runs, warmup: { runs: warmups } }
      }
      add("W5", "W1b", peer, "bulk", scaled("W1b"))
      add("W5", "W4", peer, "submit", scaled("W4"))
      add("W5", "W4", peer, "bulk", scaled("W4"))
    }
  }
  return { cells, w5Keys }
}
