/**
 * Soak / chaos run of effect-dynamic-batcher: many producers submit records
 * through one batcher whose `process` fails, dies and stalls at random while
 * some producers are interrupted; the run ends in a shutdown with producers
 * still submitting. Every record is then accounted for:
 *
 *   submitted   records handed to a producer (the producer called `submit`)
 *   succeeded   results delivered with the record's own value
 *   failed      results delivered with its batch's failure or defect
 *   rejected    BatcherShutdownError: the record was never accepted (shutdown came first)
 *   withdrawn   producer interrupted before its record reached process
 *   dropped     producer interrupted while its record was in process (result dropped)
 *   lost        an accepted, not-withdrawn record without a correct result: the
 *               producer never returned, got a result process never produced, or got
 *               the wrong one
 *   duplicated  records process saw more than once
 *
 *   expired     DeadlineExceededError (--timeout): the record never reached process
 *               within its deadline; legal, as long as process never saw it
 *
 *   reordered   records that reached process before a record submitted earlier
 *               with the same key and priority (with neither: before any earlier one)
 *
 * and the counts are reconciled with the batcher's own BatchStats. Exits 1
 * unless lost = duplicated = 0 and everything reconciles (and, with
 * --strict-order, reordered = 0).
 *
 *   node src/soak.ts [--records 1000000] [--producers 10000] [--seconds 600]
 *                    [--seed N] [--dispatch full|idle] [--max-latency 2]
 *                    [--fail-rate 0.01] [--defect-rate 0.01] [--interrupt-rate 0.01]
 *                    [--group-rate 0.05] [--api effect|promise] [--strict-order]
 *                    [--concurrency 1] [--keys 0] [--priorities 1] [--timeout 0]
 *
 * The scheduling flags: `--concurrency N` runs up to N batches in process at
 * once (`maxConcurrentBatches`); `--keys K` (K > 0) groups records by
 * `id % K` (`groupBy`); `--priorities L` gives each call a random priority in
 * 0 … L-1; `--timeout MS` (MS > 0) gives every call that deadline, so records
 * may expire (DeadlineExceededError), which the checker counts as a legal
 * outcome for a record process never saw.
 *
 * `--group-rate` of the calls submit 2–4 records at once (offerAll /
 * submitBatch), each result awaited on its own.
 *
 * `--api promise` drives the Promise API (`effect-dynamic-batcher/promise`)
 * instead: `processFn` rejects for "failures" and returns a wrong number of
 * results for "defects" (ResultCountMismatchError); Promises cannot be
 * interrupted, so `--interrupt-rate` does not apply, and 1% of the records go
 * through `enqueue` (the seed's Future) instead of `submit`.
 *
 * `--seconds` bounds the submitting phase: when it is up, producers stop
 * taking new records and the batcher is shut down.
 */
import { Cause, Data, Deferred, Effect, Exit, Fiber } from "effect"
import { Batcher, BatcherShutdownError, DeadlineExceededError, ResultCountMismatchError } from "effect-dynamic-batcher"
import type { BatchStats } from "effect-dynamic-batcher"
import { DynamicBatcher } from "effect-dynamic-batcher/promise"
import { parseArgs } from "node:util"

// -----------------------------------------------------------------------------
// options
// -----------------------------------------------------------------------------

const { values: flags } = parseArgs({
  options: {
    records: { type: "string", default: "1000000" },
    producers: { type: "string", default: "10000" },
    seconds: { type: "string", default: "600" },
    seed: { type: "string" },
    dispatch: { type: "string", default: "full" },
    "max-latency": { type: "string", default: "2" },
    "fail-rate": { type: "string", default: "0.01" },
    "defect-rate": { type: "string", default: "0.01" },
    "interrupt-rate": { type: "string", default: "0.01" },
    "group-rate": { type: "string", default: "0.05" },
    api: { type: "string", default: "effect" },
    concurrency: { type: "string", default: "1" },
    keys: { type: "string", default: "0" },
    priorities: { type: "string", default: "1" },
    timeout: { type: "string", default: "0" },
    "strict-order": { type: "boolean", default: false },
    quiet: { type: "boolean", default: false }
  },
  strict: true
})

const positive = (name: string, text: string, integer: boolean): number => {
  const value = Number(text)
  if (!Number.isFinite(value) || value < 0 || (integer && !Number.isInteger(value))) {
    console.error(`soak: --${name} must be a ${integer ? "non-negative integer" : "non-negative number"}, got ${text}`)
    process.exit(2)
  }
  return value
}

const RECORDS = positive("records", flags.records, true)
const PRODUCERS = Math.max(1, positive("producers", flags.producers, true))
const SECONDS = positive("seconds", flags.seconds, false)
const SEED = flags.seed === undefined ? (Date.now() % 2 ** 31) : positive("seed", flags.seed, true)
const MAX_LATENCY = positive("max-latency", flags["max-latency"], false)
const FAIL_RATE = positive("fail-rate", flags["fail-rate"], false)
const DEFECT_RATE = positive("defect-rate", flags["defect-rate"], false)
const INTERRUPT_RATE = positive("interrupt-rate", flags["interrupt-rate"], false)
const GROUP_RATE = positive("group-rate", flags["group-rate"], false)
const CONCURRENCY = Math.max(1, positive("concurrency", flags.concurrency, true))
const KEYS = positive("keys", flags.keys, true)
const PRIORITIES = Math.max(1, positive("priorities", flags.priorities, true))
const TIMEOUT = positive("timeout", flags.timeout, false)
const DISPATCH = flags.dispatch === "idle" ? "idle" : "full"
const API = flags.api === "promise" ? "promise" : "effect"
if (flags.api !== "effect" && flags.api !== "promise") {
  console.error(`soak: --api must be effect or promise, got ${flags.api}`)
  process.exit(2)
}
if (flags.dispatch !== "full" && flags.dispatch !== "idle") {
  console.error(`soak: --dispatch must be full or idle, got ${flags.dispatch}`)
  process.exit(2)
}

/** mulberry32: a small seeded PRNG, so a run's random choices can be replayed. */
const makeRandom = (seed: number) => {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}
const random = makeRandom(SEED)

// -----------------------------------------------------------------------------
// bookkeeping, one slot per record id
// -----------------------------------------------------------------------------

const NOT_ISSUED = 0
const PENDING = 1
const OK = 2
const FAILED = 3
const DEFECT = 4
const REJECTED = 5
const INTERRUPTED = 6
const WRONG = 7
const OTHER = 8
const EXPIRED = 9

/** What each producer got back. */
const status = new Uint8Array(RECORDS)
/** How many times process saw each record (saturating). */
const seen = new Uint8Array(RECORDS)
/** What process did with each record's batch: OK, FAILED or DEFECT. */
const outcome = new Uint8Array(RECORDS)
/** Submission order: the cost estimator runs inside each submit, just before the record is accepted. */
const submittedAt = new Int32Array(RECORDS).fill(-1)
let submissions = 0
const estimate = (id: number): number => {
  if (submittedAt[id] === -1) submittedAt[id] = submissions++
  return costOf(id)
}
/** The priority each record was submitted with (0 … PRIORITIES-1). */
const levelOf = new Uint8Array(RECORDS)
/**
 * FIFO holds within a lane: one key and one priority (with neither, one lane
 * for everything). The last submission position process saw, per lane.
 */
const laneOf = (id: number) => (KEYS === 0 ? 0 : id % KEYS) * PRIORITIES + levelOf[id]
const lastPosition = new Int32Array(Math.max(1, KEYS) * PRIORITIES).fill(-1)
let reordered = 0
const sawInOrder = (id: number) => {
  const position = submittedAt[id]
  const lane = laneOf(id)
  if (position < lastPosition[lane]) reordered++
  else lastPosition[lane] = position
}

/** A random priority for the next call, noted for each of its records. */
const pickLevel = (ids: ReadonlyArray<number>): number => {
  const level = PRIORITIES === 1 ? 0 : Math.floor(random() * PRIORITIES)
  for (const id of ids) levelOf[id] = level
  return level
}

/**
 * The per-call options of both APIs: the call's priority and, with --timeout,
 * its deadline (none without the scheduling flags, as before them).
 */
const callOptions = (level: number): { readonly priority: number; readonly timeout?: number } | undefined =>
  TIMEOUT > 0 ? { priority: level, timeout: TIMEOUT } : PRIORITIES > 1 ? { priority: level } : undefined

class BatchFailed extends Data.TaggedError("BatchFailed")<{ readonly batch: number }> {}

class BatchDefect extends Error {
  readonly batch: number
  constructor(batch: number) {
    super(`soak: batch ${batch} died`)
    this.batch = batch
  }
}

const resultOf = (id: number) => id * 2 + 1
const costOf = (id: number) => 1 + ((id * 2654435761) >>> 0) % 400

let batches = 0
let failedRecords = 0

/**
 * What both APIs' `process` do on receiving a batch: number it, roll its fate
 * (ok, failed, defect) and its latency, and note every record as seen.
 */
const startBatch = (batch: ReadonlyArray<number>) => {
  const index = batches++
  const roll = random()
  const kind = roll < FAIL_RATE ? FAILED : roll < FAIL_RATE + DEFECT_RATE ? DEFECT : OK
  for (let i = 0; i < batch.length; i++) {
    const id = batch[i]
    if (seen[id] < 255) seen[id]++
    outcome[id] = kind
    sawInOrder(id)
  }
  if (kind !== OK) failedRecords += batch.length
  const latency = MAX_LATENCY === 0 ? 0 : Math.floor(random() * (MAX_LATENCY + 1))
  return { index, kind, latency }
}

const process_ = (batch: ReadonlyArray<number>): Effect.Effect<ReadonlyArray<number>, BatchFailed> => {
  const { index, kind, latency } = startBatch(batch)
  const result: Effect.Effect<ReadonlyArray<number>, BatchFailed> = kind === FAILED
    ? Effect.fail(new BatchFailed({ batch: index }))
    : kind === DEFECT
    ? Effect.die(new BatchDefect(index))
    : Effect.sync(() => batch.map(resultOf))
  return latency === 0 ? result : Effect.andThen(Effect.sleep(latency), result)
}

const classify = (id: number, exit: Exit.Exit<number, unknown>): number => {
  if (Exit.isSuccess(exit)) return exit.value === resultOf(id) ? OK : WRONG
  const error = Cause.findErrorOption(exit.cause)
  if (error._tag === "Some") {
    if (error.value instanceof BatchFailed) return FAILED
    if (error.value instanceof BatcherShutdownError) return REJECTED
    if (error.value instanceof DeadlineExceededError) return EXPIRED
    return OTHER
  }
  const defect = Cause.findDefect(exit.cause)
  if (defect._tag === "Success" && defect.success instanceof BatchDefect) return DEFECT
  return OTHER
}

// -----------------------------------------------------------------------------
// the run
// -----------------------------------------------------------------------------

/** The batcher's options in both runs, but for batchTimeout (5 ms), which each API spells its own way. */
const tuning = {
  maxBatchSize: 256,
  costEstimator: estimate,
  targetBatchCost: 32_000,
  maxQueueSize: 5_000,
  prefetchBatches: 2,
  dispatch: DISPATCH,
  maxConcurrentBatches: CONCURRENCY,
  ...(KEYS > 0 ? { groupBy: (id: number) => id % KEYS } : {})
} as const

const logProgress = (issued: number, stats: BatchStats) =>
  console.log(
    `  … ${issued} issued, ${stats.totalCompleted} completed, ${stats.totalBatches} batches, queue ${stats.queueSize}`
  )

/**
 * Hands out record ids in order, one or a group of 2–4 at a time, while the
 * run lasts (records left and time left, until `stop`), and says when to
 * print progress. Both APIs' runs issue through one.
 */
class Issuer {
  readonly started = Date.now()
  private readonly deadline = this.started + SECONDS * 1000
  private lastLog = this.started
  private next = 0
  private stopped = false

  /** How many ids were handed out. */
  get issued(): number {
    return this.next
  }

  /** Whether producers should take more ids. */
  get issuing(): boolean {
    return !this.stopped && this.next < RECORDS
  }

  /** Whether the run goes on: ids left and time left. */
  get running(): boolean {
    return this.next < RECORDS && Date.now() < this.deadline
  }

  stop(): void {
    this.stopped = true
  }

  one(): number {
    return this.next++
  }

  group(): Array<number> {
    const count = Math.min(RECORDS - this.next, 2 + Math.floor(random() * 3))
    const ids = Array.from({ length: count }, (_, i) => this.next + i)
    this.next += count
    return ids
  }

  /** Whether to print progress now: every 2 s, unless `--quiet`. */
  progressDue(): boolean {
    if (flags.quiet || Date.now() - this.lastLog < 2000) return false
    this.lastLog = Date.now()
    return true
  }
}

interface Report {
  readonly stats: BatchStats
  readonly elapsedMs: number
  readonly hung: number
  readonly shutdownMs: number
}

const main = Effect.gen(function*() {
  const batcher = yield* Batcher.make({ process: process_, ...tuning, batchTimeout: "5 millis" })
  const issuer = new Issuer()

  const submitOne = (id: number): Effect.Effect<void> => {
    status[id] = PENDING
    const submit = batcher.submit(id, callOptions(pickLevel([id])))
    if (random() >= INTERRUPT_RATE) {
      return Effect.map(Effect.exit(submit), (exit) => {
        status[id] = classify(id, exit)
      })
    }
    // interrupt this producer's submit at a random moment: at once, after a
    // scheduler turn, or after up to 100 ms (queued, batched, or in process)
    const when = random()
    const pause = when < 0.3 ? Effect.void : when < 0.5 ? Effect.yieldNow : Effect.sleep(Math.floor(random() * 100))
    return Effect.gen(function*() {
      const fiber = yield* Effect.forkChild(submit, { startImmediately: true })
      yield* pause
      yield* Fiber.interrupt(fiber)
      const exit = yield* Fiber.await(fiber)
      status[id] = Exit.isFailure(exit) && Cause.hasInterruptsOnly(exit.cause) ? INTERRUPTED : classify(id, exit)
    })
  }

  /** offerAll of a few consecutive records, each result awaited through its Deferred. */
  const offerSome = (ids: ReadonlyArray<number>): Effect.Effect<void> =>
    Effect.gen(function*() {
      for (const id of ids) status[id] = PENDING
      const offered = yield* Effect.exit(batcher.offerAll(ids, callOptions(pickLevel(ids))))
      if (Exit.isFailure(offered)) {
        for (const id of ids) status[id] = classify(id, offered as Exit.Exit<never, unknown>)
        return
      }
      for (let i = 0; i < ids.length; i++) {
        status[ids[i]] = classify(ids[i], yield* Effect.exit(Deferred.await(offered.value[i])))
      }
    })

  const producer = Effect.gen(function*() {
    while (issuer.issuing) {
      if (random() < GROUP_RATE) yield* offerSome(issuer.group())
      else yield* submitOne(issuer.one())
    }
  })
  const producers = yield* Effect.forEach(
    Array.from({ length: PRODUCERS }),
    () => Effect.forkChild(producer),
    { concurrency: 1 }
  )

  while (issuer.running) {
    yield* Effect.sleep("50 millis")
    if (issuer.progressDue()) logProgress(issuer.issued, yield* batcher.stats)
  }
  issuer.stop()
  // shut down while producers are still submitting
  const shutdownStarted = Date.now()
  const shutdown = yield* Effect.timeoutOption(batcher.shutdown, "60 seconds")
  const shutdownMs = Date.now() - shutdownStarted
  if (shutdown._tag === "None") console.error("soak: shutdown did not return within 60 s")
  const joined = yield* Effect.timeoutOption(Fiber.awaitAll(producers), "30 seconds")
  const hung = joined._tag === "None" ? producers.filter((f) => f.pollUnsafe() === undefined).length : 0
  const stats = yield* batcher.stats
  return { stats, elapsedMs: Date.now() - issuer.started, hung, shutdownMs } satisfies Report
}).pipe(Effect.scoped)

// -----------------------------------------------------------------------------
// the same run through the Promise API
// -----------------------------------------------------------------------------

const classifyRejection = (reason: unknown): number =>
  reason instanceof BatchFailed
    ? FAILED
    : reason instanceof ResultCountMismatchError
    ? DEFECT
    : reason instanceof BatcherShutdownError
    ? REJECTED
    : reason instanceof DeadlineExceededError
    ? EXPIRED
    : OTHER

const mainPromise = async (): Promise<Report> => {
  const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))
  const batcher = new DynamicBatcher<number, number>({
    processFn: async (batch) => {
      const { index, kind, latency } = startBatch(batch)
      if (latency > 0) await sleep(latency)
      if (kind === FAILED) throw new BatchFailed({ batch: index })
      const results = batch.map(resultOf)
      return kind === DEFECT ? results.slice(1) : results
    },
    ...tuning,
    batchTimeout: 5
  })
  await batcher.start()
  const issuer = new Issuer()
  const submitSome = async (ids: ReadonlyArray<number>) => {
    for (const id of ids) status[id] = PENDING
    let results: Array<Promise<number>>
    try {
      results = await batcher.submitBatch(ids, callOptions(pickLevel(ids)))
    } catch (reason) {
      for (const id of ids) status[id] = classifyRejection(reason)
      return
    }
    for (let i = 0; i < ids.length; i++) {
      try {
        const value = await results[i]
        status[ids[i]] = value === resultOf(ids[i]) ? OK : WRONG
      } catch (reason) {
        status[ids[i]] = classifyRejection(reason)
      }
    }
  }
  const producer = async () => {
    while (issuer.issuing) {
      if (random() < GROUP_RATE) {
        await submitSome(issuer.group())
        continue
      }
      const id = issuer.one()
      status[id] = PENDING
      try {
        const options = callOptions(pickLevel([id]))
        const value = random() < 0.01
          ? await (await batcher.enqueue(id, options)).result
          : await batcher.submit(id, options)
        status[id] = value === resultOf(id) ? OK : WRONG
      } catch (reason) {
        status[id] = classifyRejection(reason)
      }
    }
  }
  const producers = Array.from({ length: PRODUCERS }, producer)
  while (issuer.running) {
    await sleep(50)
    if (issuer.progressDue()) logProgress(issuer.issued, batcher.stats)
  }
  issuer.stop()
  const shutdownStarted = Date.now()
  // unref'd: a guard must not keep the process alive once everything is done
  const timeout = (ms: number) => new Promise<"timeout">((resolve) => setTimeout(() => resolve("timeout"), ms).unref())
  if (await Promise.race([batcher.stop().then(() => "ok" as const), timeout(60_000)]) === "timeout") {
    console.error("soak: stop() did not resolve within 60 s")
  }
  const shutdownMs = Date.now() - shutdownStarted
  let settled = 0
  const all = Promise.all(producers.map((p) => p.then(() => settled++)))
  await Promise.race([all, timeout(30_000)])
  return { stats: batcher.stats, elapsedMs: Date.now() - issuer.started, hung: PRODUCERS - settled, shutdownMs }
}

console.log(
  `soak: api=${API} records=${RECORDS} producers=${PRODUCERS} seconds=${SECONDS} seed=${SEED} dispatch=${DISPATCH} ` +
    `max-latency=${MAX_LATENCY}ms fail=${FAIL_RATE} defect=${DEFECT_RATE} ` +
    `interrupt=${API === "promise" ? "n/a" : INTERRUPT_RATE} concurrency=${CONCURRENCY} keys=${KEYS} ` +
    `priorities=${PRIORITIES} timeout=${TIMEOUT === 0 ? "none" : `${TIMEOUT}ms`}`
)
const report = API === "promise" ? await mainPromise() : await Effect.runPromise(main)

// -----------------------------------------------------------------------------
// accounting
// -----------------------------------------------------------------------------

const count = new Array<number>(10).fill(0)
let issued = 0
let processed = 0
let duplicated = 0
let withdrawn = 0
let dropped = 0
let lost = 0
const lostExamples: Array<string> = []
const lose = (id: number, why: string) => {
  lost++
  if (lostExamples.length < 10) lostExamples.push(`record ${id}: ${why}`)
}
for (let id = 0; id < RECORDS; id++) {
  const s = status[id]
  if (s === NOT_ISSUED) continue
  issued++
  count[s]++
  if (seen[id] > 0) processed++
  if (seen[id] > 1) duplicated++
  switch (s) {
    case PENDING:
      lose(id, "its producer never got a result")
      break
    case INTERRUPTED:
      if (seen[id] === 0) withdrawn++
      else dropped++
      break
    case REJECTED:
      if (seen[id] > 0) lose(id, "process saw it, yet its producer got BatcherShutdownError")
      break
    case EXPIRED:
      if (seen[id] > 0) lose(id, "process saw it, yet its producer got DeadlineExceededError")
      break
    case OK:
    case FAILED:
    case DEFECT:
      if (seen[id] === 0) lose(id, "its producer got a result, yet process never saw it")
      else if (outcome[id] !== s) lose(id, `its producer got ${s}, its batch did ${outcome[id]}`)
      break
    case WRONG:
      lose(id, "its producer got another record's value")
      break
    case OTHER:
      lose(id, "its producer got an unexpected failure")
      break
  }
}

const { stats } = report
const problems: Array<string> = []
const expect = (ok: boolean, what: string) => {
  if (!ok) problems.push(what)
}
expect(report.hung === 0, `${report.hung} producers still running after shutdown`)
expect(stats.queueSize === 0, `stats.queueSize ${stats.queueSize} after shutdown`)
expect(
  stats.totalSubmitted === stats.totalCompleted + stats.totalWithdrawn + stats.queueSize,
  `stats: submitted ${stats.totalSubmitted} != completed ${stats.totalCompleted} + withdrawn ${stats.totalWithdrawn} + queue ${stats.queueSize}`
)
// An expired record counts as completed and failed without reaching process.
expect(
  stats.totalCompleted === processed + stats.totalExpired,
  `stats.totalCompleted ${stats.totalCompleted} != ${processed} records process saw + ${stats.totalExpired} expired`
)
expect(stats.totalBatches === batches, `stats.totalBatches ${stats.totalBatches} != ${batches} process calls`)
expect(
  stats.totalFailed === failedRecords + stats.totalExpired,
  `stats.totalFailed ${stats.totalFailed} != ${failedRecords} records of failed batches + ${stats.totalExpired} expired`
)
expect(TIMEOUT > 0 || stats.totalExpired === 0, `stats.totalExpired ${stats.totalExpired} without --timeout`)
expect(stats.totalFailed <= stats.totalCompleted, "stats.totalFailed > totalCompleted")
// An accepted record process never saw was withdrawn (its producer was interrupted, or shutdown
// rejected a group — submitAll / offerAll / submitBatch — that still waited for room for the rest)
// or expired (its deadline came first, whether or not its producer was still there).
expect(
  stats.totalWithdrawn + stats.totalExpired <= withdrawn + count[REJECTED] + count[EXPIRED],
  `stats.totalWithdrawn ${stats.totalWithdrawn} + totalExpired ${stats.totalExpired} > ${withdrawn} interrupted producers whose record process never saw + ${
    count[REJECTED]
  } rejected + ${count[EXPIRED]} expired`
)
expect(
  stats.totalSubmitted === processed + stats.totalWithdrawn + stats.totalExpired,
  `stats.totalSubmitted ${stats.totalSubmitted} != ${processed} processed + ${stats.totalWithdrawn} withdrawn + ${stats.totalExpired} expired`
)
expect(
  count[OK] + count[FAILED] + count[DEFECT] + dropped === processed,
  `succeeded ${count[OK]} + failed ${count[FAILED] + count[DEFECT]} + dropped ${dropped} != ${processed} processed`
)
expect(lost === 0, `${lost} records lost`)
expect(duplicated === 0, `${duplicated} records duplicated`)
if (flags["strict-order"]) {
  expect(reordered === 0, `${reordered} records reached process before one submitted earlier (same key and priority)`)
}

const row = (label: string, value: number | string, note = "") =>
  console.log(`${label.padEnd(12)}${String(value).padStart(10)}${note === "" ? "" : `   ${note}`}`)
row(
  "submitted",
  issued,
  `of ${RECORDS} (${(issued / (report.elapsedMs / 1000)).toFixed(0)} records/s over ${
    (report.elapsedMs / 1000).toFixed(1)
  } s)`
)
row("succeeded", count[OK])
row(
  "failed",
  count[FAILED] + count[DEFECT],
  `${count[FAILED]} batch failures, ${count[DEFECT]} ${API === "promise" ? "wrong result counts" : "defects"}`
)
row(
  "rejected",
  count[REJECTED],
  "BatcherShutdownError: not accepted before the shutdown (a group: not all of it)"
)
row(
  "withdrawn",
  withdrawn,
  `interrupted before process (BatchStats.totalWithdrawn ${stats.totalWithdrawn} also counts the accepted part of rejected groups)`
)
row("dropped", dropped, "interrupted while in process: result dropped")
row(
  "expired",
  count[EXPIRED],
  `DeadlineExceededError, never in process (BatchStats.totalExpired ${stats.totalExpired})`
)
row("lost", lost)
row("duplicated", duplicated)
row("reordered", reordered, "records that reached process before one submitted earlier with the same key and priority")
console.log(
  `BatchStats: submitted ${stats.totalSubmitted}, completed ${stats.totalCompleted}, failed ${stats.totalFailed}, ` +
    `withdrawn ${stats.totalWithdrawn}, batches ${stats.totalBatches} (avg ${
      stats.avgBatchSize.toFixed(1)
    } records), ` +
    `queue ${stats.queueSize}, utilization ${
      (stats.utilization * 100).toFixed(1)
    }%; shutdown took ${report.shutdownMs} ms`
)
for (const example of lostExamples) console.log(`  lost: ${example}`)
if (problems.length > 0) {
  console.log(`soak: FAILED (seed ${SEED})`)
  for (const p of problems) console.log(`  - ${p}`)
  process.exit(1)
}
console.log("soak: OK — nothing lost, nothing duplicated, counts reconcile with BatchStats")
