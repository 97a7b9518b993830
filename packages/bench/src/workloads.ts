/**
 * The workloads, each with a driver for Effect peers (a fiber per producer)
 * and one for Promise peers (a promise per producer). One call runs a
 * workload once on a fresh batcher and returns that run's metrics; every run
 * checks that each record got its own doubled value, and throws otherwise.
 *
 * Only the measured section is timed: making the batcher, checking results
 * and shutting down are outside it.
 */
import { Deferred, Effect, Fiber } from "effect"
import { Accelerator, Gate } from "./devices.ts"
import type {
  EffectBatcher,
  EffectPeer,
  LoopPeer,
  Peer,
  PeerOptions,
  PromiseBatcher,
  PromisePeer
} from "./peers/types.ts"
import { behindGate, doubling, forEffect, forPromise, onAccelerator } from "./processes.ts"
import type { CellSpec, Metrics } from "./spec.ts"

export const MAX_BATCH_SIZE = 256
/** W2's accelerator: 2 ms + 10 µs per record, one batch at a time. */
export const ACCEL_FIXED_MS = 2
export const ACCEL_PER_RECORD_MS = 0.01

/** What one run is asked to do: the cell's spec at the size/duration of this run. */
export interface RunPlan {
  readonly spec: CellSpec
  readonly size: number
  readonly durationMs: number
}

export const runOnce = (peer: Peer, plan: RunPlan): Promise<Metrics> =>
  peer.kind === "effect"
    ? runEffect(peer, plan)
    : peer.kind === "promise"
    ? runPromise(peer, plan)
    : runLoop(peer, plan)

// -----------------------------------------------------------------------------
// shared pieces
// -----------------------------------------------------------------------------

const range = (n: number): Array<number> => {
  const out = new Array<number>(n)
  for (let i = 0; i < n; i++) out[i] = i
  return out
}

/** Throws unless `results[i] === 2 × records[i]` for every i. */
const verify = (label: string, records: ReadonlyArray<number>, results: ReadonlyArray<unknown>): void => {
  if (results.length !== records.length) {
    throw new Error(`${label}: ${results.length} results for ${records.length} records`)
  }
  for (let i = 0; i < records.length; i++) {
    if (results[i] !== records[i] * 2) {
      throw new Error(`${label}: record ${records[i]} got ${String(results[i])}, expected ${records[i] * 2}`)
    }
  }
}

const throughput = (records: number, ms: number): Metrics => ({
  recPerSec: records / (ms / 1000),
  nsPerRec: (ms * 1e6) / records,
  ms
})

const percentile = (sorted: ReadonlyArray<number>, p: number): number =>
  sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))]

const latencyMetrics = (latencies: Array<number>): Metrics => {
  latencies.sort((a, b) => a - b)
  return {
    p50Ms: percentile(latencies, 0.5),
    p99Ms: percentile(latencies, 0.99),
    meanMs: latencies.reduce((a, b) => a + b, 0) / latencies.length
  }
}

const gc = (): void => {
  const collect = (globalThis as { gc?: () => void }).gc
  if (collect === undefined) throw new Error("run with --expose-gc")
  collect()
  collect()
}

/** Heap in use after a full collection. */
const heapUsed = (): number => {
  gc()
  return process.memoryUsage().heapUsed
}

const options = (windowMs: number, records: number): PeerOptions => ({
  maxBatchSize: MAX_BATCH_SIZE,
  windowMs,
  maxQueueSize: Math.max(5_000, records)
})

const w2Metrics = (accelerator: Accelerator, durationMs: number, wrong: number): Metrics => {
  if (wrong > 0) throw new Error(`W2: ${wrong} records got a wrong result`)
  const theoretical = (durationMs * MAX_BATCH_SIZE) / accelerator.costMs(MAX_BATCH_SIZE)
  return {
    fraction: accelerator.recordsInWindow / theoretical,
    recPerSec: accelerator.recordsInWindow / (durationMs / 1000),
    utilization: accelerator.busyMsInWindow / durationMs,
    avgBatchSize: accelerator.batchesInWindow === 0 ? 0 : accelerator.recordsInWindow / accelerator.batchesInWindow
  }
}

// -----------------------------------------------------------------------------
// Effect peers
// -----------------------------------------------------------------------------

const now = Effect.sync(() => performance.now())

const withBatcher = <A>(
  peer: EffectPeer,
  process: (batch: ReadonlyArray<number>) => Effect.Effect<ReadonlyArray<number>>,
  peerOptions: PeerOptions,
  body: (batcher: EffectBatcher<number, number>) => Effect.Effect<A, unknown>
): Promise<A> => Effect.runPromise(Effect.scoped(Effect.flatMap(peer.make<number, number>(process, peerOptions), body)))

/** The peer's bulk path (`offerAll` / `submitMany`), or an error if it has none. */
const needBulk = <F>(peer: Peer, bulk: F | undefined): F => {
  if (bulk === undefined) throw new Error(`${peer.name} has no bulk path`)
  return bulk
}

const runEffect = (peer: EffectPeer, plan: RunPlan): Promise<Metrics> => {
  const { spec, size } = plan
  const label = `${spec.workload} ${peer.name}`
  const doubleEffect = forEffect(spec.process, doubling)
  switch (spec.workload) {
    case "W1":
      return withBatcher(peer, doubleEffect, options(spec.windowMs, size), (batcher) =>
        Effect.gen(function*() {
          const records = range(size)
          const start = performance.now()
          const results = yield* Effect.forEach(records, batcher.submit, { concurrency: "unbounded" })
          const ms = performance.now() - start
          verify(label, records, results)
          return throughput(size, ms)
        }))

    case "W1s": {
      const perProducer = spec.perProducer ?? 1
      const total = size * perProducer
      return withBatcher(peer, doubleEffect, options(spec.windowMs, total), (batcher) =>
        Effect.gen(function*() {
          let wrong = 0
          const producer = (p: number) =>
            Effect.gen(function*() {
              const base = p * perProducer
              for (let j = 0; j < perProducer; j++) {
                const record = base + j
                if ((yield* batcher.submit(record)) !== record * 2) wrong++
              }
            })
          const start = performance.now()
          yield* Effect.forEach(range(size), producer, { concurrency: "unbounded", discard: true })
          const ms = performance.now() - start
          if (wrong > 0) throw new Error(`${label}: ${wrong} records got a wrong result`)
          return throughput(total, ms)
        }))
    }

    case "W1b":
      return withBatcher(peer, doubleEffect, options(spec.windowMs, size), (batcher) =>
        Effect.gen(function*() {
          const offerAll = needBulk(peer, batcher.offerAll)
          const records = range(size)
          const start = performance.now()
          const deferreds = yield* offerAll(records)
          const results = yield* Effect.forEach(deferreds, Deferred.await)
          const ms = performance.now() - start
          verify(label, records, results)
          return throughput(size, ms)
        }))

    case "W2": {
      const accelerator = new Accelerator(ACCEL_FIXED_MS, ACCEL_PER_RECORD_MS)
      const process = forEffect(spec.process, onAccelerator(accelerator))
      return withBatcher(peer, process, options(spec.windowMs, size), (batcher) =>
        Effect.gen(function*() {
          let next = 0
          let wrong = 0
          const start = performance.now()
          const deadline = start + plan.durationMs
          accelerator.measure(start, deadline)
          const producer = Effect.gen(function*() {
            while (performance.now() < deadline) {
              const record = next++
              if ((yield* batcher.submit(record)) !== record * 2) wrong++
            }
          })
          yield* Effect.forEach(range(size), () => producer, { concurrency: "unbounded", discard: true })
          const metrics = w2Metrics(accelerator, plan.durationMs, wrong)
          if (batcher.utilization !== undefined) metrics.statsUtilization = yield* batcher.utilization
          return metrics
        }))
    }

    case "W3":
      return withBatcher(peer, doubleEffect, options(spec.windowMs, size), (batcher) =>
        Effect.gen(function*() {
          const latencies = new Array<number>(size)
          for (let i = 0; i < size; i++) {
            const start = yield* now
            const result = yield* batcher.submit(i)
            latencies[i] = (yield* now) - start
            if (result !== i * 2) throw new Error(`${label}: record ${i} got ${result}`)
          }
          return latencyMetrics(latencies)
        }))

    case "W4": {
      const gate = new Gate()
      const process = forEffect(spec.process, behindGate(gate))
      return withBatcher(peer, process, options(spec.windowMs, size), (batcher) =>
        Effect.gen(function*() {
          const records = range(size)
          yield* Effect.sleep(5)
          const before = heapUsed()
          let after: number
          let results: ReadonlyArray<number>
          if (spec.via === "submit") {
            let started = 0
            const fiber = yield* Effect.forkChild(
              Effect.forEach(records, (record) => {
                started++
                return batcher.submit(record)
              }, { concurrency: "unbounded" })
            )
            while (started < size) yield* Effect.sleep(1)
            yield* Effect.sleep(20)
            after = heapUsed()
            gate.open()
            results = yield* Fiber.join(fiber)
          } else {
            const deferreds = yield* needBulk(peer, batcher.offerAll)(records)
            yield* Effect.sleep(20)
            after = heapUsed()
            gate.open()
            results = yield* Effect.forEach(deferreds, Deferred.await)
          }
          verify(label, records, results)
          return { bytesPerRec: (after - before) / size }
        }))
    }

    case "W6":
      throw new Error("W6 runs through steps.ts (runSteps), not runOnce")
  }
}

// -----------------------------------------------------------------------------
// Promise peers
// -----------------------------------------------------------------------------

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

const withPromiseBatcher = async <A>(
  peer: PromisePeer,
  process: (batch: ReadonlyArray<number>) => Promise<ReadonlyArray<number>>,
  peerOptions: PeerOptions,
  body: (batcher: PromiseBatcher<number, number>) => Promise<A>
): Promise<A> => {
  const batcher = await peer.make<number, number>(process, peerOptions)
  try {
    return await body(batcher)
  } finally {
    await batcher.close()
  }
}

const runPromise = (peer: PromisePeer, plan: RunPlan): Promise<Metrics> => {
  const { spec, size } = plan
  const label = `${spec.workload} ${peer.name}`
  const doublePromise = forPromise(spec.process, doubling)
  switch (spec.workload) {
    case "W1":
      return withPromiseBatcher(peer, doublePromise, options(spec.windowMs, size), async (batcher) => {
        const records = range(size)
        const start = performance.now()
        const results = await Promise.all(records.map((record) => batcher.submit(record)))
        const ms = performance.now() - start
        verify(label, records, results)
        return throughput(size, ms)
      })

    case "W1s": {
      const perProducer = spec.perProducer ?? 1
      const total = size * perProducer
      return withPromiseBatcher(peer, doublePromise, options(spec.windowMs, total), async (batcher) => {
        let wrong = 0
        const producer = async (p: number) => {
          const base = p * perProducer
          for (let j = 0; j < perProducer; j++) {
            const record = base + j
            if ((await batcher.submit(record)) !== record * 2) wrong++
          }
        }
        const start = performance.now()
        await Promise.all(range(size).map(producer))
        const ms = performance.now() - start
        if (wrong > 0) throw new Error(`${label}: ${wrong} records got a wrong result`)
        return throughput(total, ms)
      })
    }

    case "W1b":
      return withPromiseBatcher(peer, doublePromise, options(spec.windowMs, size), async (batcher) => {
        const submitMany = needBulk(peer, batcher.submitMany)
        const records = range(size)
        const start = performance.now()
        const results = await Promise.all(await submitMany(records))
        const ms = performance.now() - start
        verify(label, records, results)
        return throughput(size, ms)
      })

    case "W2": {
      const accelerator = new Accelerator(ACCEL_FIXED_MS, ACCEL_PER_RECORD_MS)
      const process = forPromise(spec.process, onAccelerator(accelerator))
      return withPromiseBatcher(peer, process, options(spec.windowMs, size), async (batcher) => {
        let next = 0
        let wrong = 0
        const start = performance.now()
        const deadline = start + plan.durationMs
        accelerator.measure(start, deadline)
        const producer = async () => {
          while (performance.now() < deadline) {
            const record = next++
            if ((await batcher.submit(record)) !== record * 2) wrong++
          }
        }
        await Promise.all(range(size).map(producer))
        return w2Metrics(accelerator, plan.durationMs, wrong)
      })
    }

    case "W3":
      return withPromiseBatcher(peer, doublePromise, options(spec.windowMs, size), async (batcher) => {
        const latencies = new Array<number>(size)
        for (let i = 0; i < size; i++) {
          const start = performance.now()
          const result = await batcher.submit(i)
          latencies[i] = performance.now() - start
          if (result !== i * 2) throw new Error(`${label}: record ${i} got ${result}`)
        }
        return latencyMetrics(latencies)
      })

    case "W4": {
      const gate = new Gate()
      const process = forPromise(spec.process, behindGate(gate))
      return withPromiseBatcher(peer, process, options(spec.windowMs, size), async (batcher) => {
        const records = range(size)
        await sleep(5)
        const before = heapUsed()
        const pending = spec.via === "submit"
          ? records.map((record) => batcher.submit(record))
          : await needBulk(peer, batcher.submitMany)(records)
        await sleep(20)
        const after = heapUsed()
        gate.open()
        const results = await Promise.all(pending)
        verify(label, records, results)
        return { bytesPerRec: (after - before) / size }
      })
    }

    case "W6":
      throw new Error("W6 runs through steps.ts (runSteps), not runOnce")
  }
}

// -----------------------------------------------------------------------------
// loops (W2 only)
// -----------------------------------------------------------------------------

/** W2 for a loop: it takes fresh records itself, full batches back to back, for the same duration. */
const runLoop = async (peer: LoopPeer, plan: RunPlan): Promise<Metrics> => {
  const { spec } = plan
  if (spec.workload !== "W2") throw new Error(`${peer.name} runs W2 only, not ${spec.workload}`)
  const accelerator = new Accelerator(ACCEL_FIXED_MS, ACCEL_PER_RECORD_MS)
  let next = 0
  let wrong = 0
  const start = performance.now()
  const deadline = start + plan.durationMs
  accelerator.measure(start, deadline)
  await peer.run(forPromise(spec.process, onAccelerator(accelerator)), {
    take: (n) => {
      const batch = new Array<number>(n)
      for (let i = 0; i < n; i++) batch[i] = next++
      return batch
    },
    deliver: (batch, results) => {
      for (let i = 0; i < batch.length; i++) if (results[i] !== batch[i] * 2) wrong++
    },
    done: () => performance.now() >= deadline
  }, options(spec.windowMs, spec.size))
  return w2Metrics(accelerator, plan.durationMs, wrong)
}
