/**
 * What a peer is: something that batches records and hands each producer its
 * own result. A peer is either Effect-native (producers are fibers) or
 * Promise-based (producers are promises); the workloads (`workloads.ts`) have
 * one driver for each kind and never look inside a peer.
 *
 * A third kind, a loop, is no batcher at all: it feeds `process` full
 * batches itself, one after the other (W2's bare serial loop, the most a
 * one-batch-at-a-time processor can keep a device busy).
 *
 * Adding a peer is one file in this folder exporting a `Peer`, plus one line
 * in `index.ts`.
 */
import type { Deferred, Effect, Scope } from "effect"
import type { WorkloadName } from "../spec.ts"

/** The knobs every peer gets; each peer maps them to its own options. */
export interface PeerOptions {
  /** The most records in one batch (256 in every workload). */
  readonly maxBatchSize: number
  /** How long a batch waits for more records after its first one. */
  readonly windowMs: number
  /**
   * A bound on queued records, for peers that have one (ours). The harness
   * sets it at least as large as the workload, because the other peers have
   * no bound at all.
   */
  readonly maxQueueSize: number
}

/** A running Effect-native batcher. */
export interface EffectBatcher<Rec, Res> {
  /** Enqueue one record and await its result (one fiber per record). */
  readonly submit: (record: Rec) => Effect.Effect<Res, unknown>
  /** The bulk path, if the peer has one: enqueue all, return one Deferred per record. */
  readonly offerAll?:
    | ((records: ReadonlyArray<Rec>) => Effect.Effect<ReadonlyArray<Deferred.Deferred<Res, any>>, unknown>)
    | undefined
  /** The peer's own utilization measure, if it keeps one (ours: `BatchStats.utilization`). */
  readonly utilization?: Effect.Effect<number> | undefined
  /** The batch cap and wait in force now, if the peer reports them (ours: `BatchStats.effective*`). */
  readonly effective?: Effect.Effect<{ readonly cap: number; readonly waitMs: number }> | undefined
}

/** An Effect-native peer. `make` runs in a scope; closing the scope stops the batcher. */
export interface EffectPeer {
  readonly kind: "effect"
  readonly name: string
  readonly description: string
  /** Whether the peer offers `offerAll` (so it runs W1b and the bulk half of W4/W5). */
  readonly bulk: boolean
  /** Resolves to a reason when the peer cannot run here (e.g. its module is missing). */
  readonly unavailable?: (() => Promise<string | undefined>) | undefined
  /** The workloads the peer runs, when not all of them (a variant measured on one workload). */
  readonly workloads?: ReadonlyArray<WorkloadName> | undefined
  readonly make: <Rec, Res>(
    process: (batch: ReadonlyArray<Rec>) => Effect.Effect<ReadonlyArray<Res>>,
    options: PeerOptions
  ) => Effect.Effect<EffectBatcher<Rec, Res>, unknown, Scope.Scope>
}

/** A running Promise-based batcher. */
export interface PromiseBatcher<Rec, Res> {
  readonly submit: (record: Rec) => Promise<Res>
  /**
   * The bulk path, if the peer has one: enqueue all, one promise per record
   * (returned at once, or once all records were accepted).
   */
  readonly submitMany?:
    | ((records: ReadonlyArray<Rec>) => Array<Promise<Res>> | Promise<Array<Promise<Res>>>)
    | undefined
  /** Stops the batcher once every accepted record was delivered. */
  readonly close: () => Promise<void>
}

/** A Promise-based peer. */
export interface PromisePeer {
  readonly kind: "promise"
  readonly name: string
  readonly description: string
  readonly bulk: boolean
  readonly unavailable?: (() => Promise<string | undefined>) | undefined
  readonly workloads?: ReadonlyArray<WorkloadName> | undefined
  readonly make: <Rec, Res>(
    process: (batch: ReadonlyArray<Rec>) => Promise<ReadonlyArray<Res>>,
    options: PeerOptions
  ) => Promise<PromiseBatcher<Rec, Res>>
}

/** Where a loop takes its batches from and hands their results to (the workload). */
export interface LoopSource<Rec, Res> {
  /** The next `n` records. */
  readonly take: (n: number) => ReadonlyArray<Rec>
  /** The results of a batch, in order. */
  readonly deliver: (batch: ReadonlyArray<Rec>, results: ReadonlyArray<Res>) => void
  /** Whether to stop before the next batch. */
  readonly done: () => boolean
}

/** A peer with no batcher: it calls `process` on full batches, each after the last one's result came back. */
export interface LoopPeer {
  readonly kind: "loop"
  readonly name: string
  readonly description: string
  readonly bulk: false
  readonly unavailable?: undefined
  /** A loop has no producers to batch, only a device to feed. */
  readonly workloads: ReadonlyArray<WorkloadName>
  readonly run: <Rec, Res>(
    process: (batch: ReadonlyArray<Rec>) => Promise<ReadonlyArray<Res>>,
    source: LoopSource<Rec, Res>,
    options: PeerOptions
  ) => Promise<void>
}

export type Peer = EffectPeer | PromisePeer | LoopPeer
