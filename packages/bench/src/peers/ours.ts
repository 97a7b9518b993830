/**
 * effect-dynamic-batcher itself, in the variants the floors judge: dispatch
 * "full" (a batch goes when full or when the window since its first record
 * passed) and "idle" (also whenever a processing slot is free), each with one
 * batch in `process` at a time (the default) and with
 * `maxConcurrentBatches: 2`; on W1s also keyed (`groupBy`, 10,000 keys) and
 * with priorities and deadlines on. `submit` is a fiber per record;
 * `offerAll` is the bulk path. `maxQueueSize` is set by the harness to at
 * least the workload's size, since the other peers have no bound.
 */
import { Duration, Effect, Schedule } from "effect"
import type * as Library from "effect-dynamic-batcher"
import type { WorkloadName } from "../spec.ts"
import type { EffectBatcher, EffectPeer, PeerOptions } from "./types.ts"

/**
 * The library under test: the workspace package, or the `src/index.ts` of
 * another checkout named by `BENCH_LIBRARY` (`pnpm bench --library=PATH`),
 * to compare a change against a baseline within one run of the machine.
 */
let library: Promise<typeof Library> | undefined
const load = (): Promise<typeof Library> => library ??= import(process.env.BENCH_LIBRARY ?? "effect-dynamic-batcher")

/** How many keys the keyed variant spreads W1s over. */
export const KEYS = 10_000

/** Priority levels the priorities-and-deadlines variant cycles through. */
const LEVELS = 4

/** A variant of ours: its options beyond the shared ones, and what each submit adds. */
interface Variant {
  readonly name: string
  readonly description: string
  readonly dispatch: "full" | "idle"
  /** Options of `Batcher.make` beyond the shared ones. */
  readonly options?: Pick<
    Library.Batcher.CommonOptions<number>,
    | "maxConcurrentBatches"
    | "maxQueueDelay"
    | "retry"
    | "onBatchFailure"
    | "onDeadLetter"
    | "maxBatchSize"
    | "batchTimeout"
    | "adaptive"
  >
  /** Records are numbers in every workload; the keyed variant groups them by value. */
  readonly groupBy?: ((record: number) => number) | undefined
  /** Per-submit options; `i` counts the batcher's submits. */
  readonly submitOptions?: ((i: number) => Library.Batcher.SubmitOptions) | undefined
  readonly workloads?: ReadonlyArray<WorkloadName> | undefined
}

const make = (variant: Variant): EffectPeer["make"] =>
<Rec, Res>(
  process: (batch: ReadonlyArray<Rec>) => Effect.Effect<ReadonlyArray<Res>>,
  options: PeerOptions
) =>
  Effect.map(
    Effect.flatMap(Effect.promise(load), ({ Batcher }) =>
      Batcher.make<Rec, Res>({
        process,
        maxBatchSize: options.maxBatchSize,
        batchTimeout: options.windowMs,
        maxQueueSize: options.maxQueueSize,
        dispatch: variant.dispatch,
        // Its hooks see the workloads' records, numbers, as `groupBy` below.
        ...(variant.options as Partial<Library.Batcher.CommonOptions<Rec>>),
        // The workloads' records are numbers (`Rec` is generic only to keep peers workload-agnostic).
        ...(variant.groupBy === undefined ? {} : { groupBy: variant.groupBy as unknown as (record: Rec) => number })
      })),
    (batcher: Library.Batcher.Batcher<Rec, Res, never>): EffectBatcher<Rec, Res> => {
      const perSubmit = variant.submitOptions
      let submits = 0
      return {
        submit: perSubmit === undefined
          ? (record) => batcher.submit(record)
          : (record) => batcher.submit(record, perSubmit(submits++)),
        offerAll: (records) => batcher.offerAll(records),
        utilization: Effect.map(batcher.stats, (stats) => stats.utilization),
        effective: Effect.map(
          batcher.stats,
          (stats) => ({ cap: stats.effectiveMaxBatchSize, waitMs: stats.effectiveBatchTimeoutMs })
        )
      }
    }
  )

const peer = (variant: Variant): EffectPeer => ({
  kind: "effect",
  name: variant.name,
  description: variant.description,
  bulk: variant.workloads === undefined || variant.workloads.includes("W1b"),
  workloads: variant.workloads,
  make: make(variant)
})

export const oursFull: EffectPeer = peer({
  name: "ours-full",
  description: `effect-dynamic-batcher, dispatch "full"`,
  dispatch: "full"
})

export const oursIdle: EffectPeer = peer({
  name: "ours-idle",
  description: `effect-dynamic-batcher, dispatch "idle"`,
  dispatch: "idle"
})

/** Up to two `process` calls at once; W4's bytes per waiting record do not depend on it, so no W4. */
const concurrent = (dispatch: "full" | "idle"): EffectPeer =>
  peer({
    name: `ours-${dispatch}-c2`,
    description: `effect-dynamic-batcher, dispatch "${dispatch}", maxConcurrentBatches: 2`,
    dispatch,
    options: { maxConcurrentBatches: 2 },
    workloads: ["W1", "W1s", "W1b", "W2", "W3"]
  })

export const oursFullConcurrent: EffectPeer = concurrent("full")

export const oursIdleConcurrent: EffectPeer = concurrent("idle")

/**
 * W1s keyed: record r goes to key r mod 10,000. Producer p submits records
 * 200p … 200p + 199, so at step j the producers p ≡ a (mod 50) share key
 * 200a + j: while the producers keep in step, 50 keys are open at once with
 * ~20 records each, and the run goes through all 10,000 keys (20 records
 * each), every one of which must be dropped once empty.
 */
export const oursKeyed: EffectPeer = peer({
  name: "ours-keyed",
  description: `effect-dynamic-batcher, dispatch "full", groupBy: record mod ${
    KEYS.toLocaleString("en-US")
  } (W1s only)`,
  dispatch: "full",
  groupBy: (record) => record % KEYS,
  workloads: ["W1s"]
})

/**
 * W1s with priorities and deadlines on: each submit gets the next of four
 * priority levels and a timeout no record reaches, under a `maxQueueDelay`
 * no record reaches either: what keeping levels and deadlines costs.
 */
export const oursPrioritiesDeadlines: EffectPeer = peer({
  name: "ours-prio-deadline",
  description:
    `effect-dynamic-batcher, dispatch "full", priority: submit mod ${LEVELS}, timeout "30 seconds", maxQueueDelay "1 minute" (W1s only)`,
  dispatch: "full",
  options: { maxQueueDelay: "1 minute" },
  submitOptions: (i) => ({ priority: i % LEVELS, timeout: "30 seconds" }),
  workloads: ["W1s"]
})

/**
 * W1s and W1b with the failure handling of issue #12 on — retries (two, on
 * any failure), bisection and a dead-letter hook — while nothing fails: what
 * having them ready costs a batch that succeeds.
 */
export const oursRecovery: EffectPeer = peer({
  name: "ours-recovery",
  description:
    `effect-dynamic-batcher, dispatch "full", retry: Schedule.recurs(2), onBatchFailure: "bisect", onDeadLetter (W1s, W1b)`,
  dispatch: "full",
  options: { retry: { schedule: Schedule.recurs(2) }, onBatchFailure: "bisect", onDeadLetter: () => Effect.void },
  workloads: ["W1s", "W1b"]
})

/**
 * W6 (adaptive batching under a load that steps): ours with `adaptive` on,
 * `maxBatchSize` and `batchTimeout` as its upper bounds, against three fixed
 * settings on the same device (`ADAPTIVE_TARGET_MS`, `FIXED_SETTINGS`), each
 * in both dispatch policies. `maxBatchSize`/`batchTimeout` override the
 * harness's shared ones: W6 compares settings.
 */
export const ADAPTIVE_TARGET_MS = 50

/** The fixed settings W6 compares against: too small, about right, too large for the device. */
export const FIXED_SETTINGS = {
  small: { maxBatchSize: 16, batchTimeout: 2 },
  right: { maxBatchSize: 128, batchTimeout: 10 },
  large: { maxBatchSize: 512, batchTimeout: 100 }
} as const

const w6Peer = (setting: "adaptive" | keyof typeof FIXED_SETTINGS, dispatch: "full" | "idle"): EffectPeer => {
  const suffix = dispatch === "idle" ? "-idle" : ""
  const options = setting === "adaptive"
    ? { ...FIXED_SETTINGS.large, adaptive: { targetLatency: Duration.millis(ADAPTIVE_TARGET_MS) } }
    : FIXED_SETTINGS[setting]
  return peer({
    name: setting === "adaptive" ? `ours-adaptive${suffix}` : `ours-fixed-${setting}${suffix}`,
    description:
      `effect-dynamic-batcher, dispatch "${dispatch}", maxBatchSize ${options.maxBatchSize}, batchTimeout ${options.batchTimeout} ms${
        setting === "adaptive" ? `, adaptive: { targetLatency: ${ADAPTIVE_TARGET_MS} ms }` : ""
      } (W6 only)`,
    dispatch,
    options,
    workloads: ["W6"]
  })
}

/** The W6 settings in table order, `dispatch: "full"` first: adaptive, then the fixed ones. */
export const w6Peers: ReadonlyArray<EffectPeer> = (["full", "idle"] as const).flatMap((dispatch) =>
  (["adaptive", "small", "right", "large"] as const).map((setting) => w6Peer(setting, dispatch))
)
