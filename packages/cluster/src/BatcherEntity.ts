/**
 * One dynamic batcher per key, across machines: an `effect/cluster` entity
 * whose entity id is the batch key. The cluster places each key on one runner;
 * that runner's entity instance hosts the key's `Batcher`, so every record for
 * the key, from any process, lands in the same batches.
 *
 * @since 0.1.0
 */
import type { Duration } from "effect"
import { Cause, Deferred, Effect, Layer, Schema } from "effect"
import type { BatcherConfigError, BatcherError } from "effect-dynamic-batcher"
import { Batcher, ResultCountMismatchError } from "effect-dynamic-batcher"
import { Entity } from "effect/cluster"
import type { Sharding } from "effect/cluster"
import type { SqlError } from "effect/sql"
import { BatcherUnavailableError } from "./BatcherUnavailableError.ts"
import type { Stored } from "./CompletedRecords.ts"
import { CompletedRecords } from "./CompletedRecords.ts"
import { type BulkRequest, makeProtocol, type Request, type SubmitPayload } from "./internal/protocol.ts"
import { unavailable } from "./internal/unavailable.ts"

/**
 * The options of `make`: the schemas of a record, its result and the batch's
 * failure, the batch's `process`, and every `Batcher` option.
 *
 * @category models
 * @since 0.1.0
 */
export interface Options<
  RecS extends Schema.Top,
  ResS extends Schema.Top,
  ErrS extends Schema.Top,
  R
> extends Omit<Batcher.Tuning, "name"> {
  /** The schema a record crosses the network with. */
  readonly record: RecS
  /** The schema of one record's result. */
  readonly result: ResS
  /** The schema of `process`'s failure; none if it cannot fail. */
  readonly error?: ErrS | undefined
  /**
   * Runs one batch of the records of `key`: one result per record, in order.
   * With `CompletedRecords.layerSql` it runs inside the SQL transaction that
   * stores the results: write through the same `SqlClient` to commit both at
   * once. A `SqlError` (of `process` or of that transaction) fails the batch's
   * records with `BatcherUnavailableError`.
   */
  readonly process: (
    batch: ReadonlyArray<RecS["Type"]>,
    key: string
  ) => Effect.Effect<ReadonlyArray<ResS["Type"]>, ErrS["Type"] | SqlError.SqlError, R>
  /** A record's cost, when the caller gives none. */
  readonly costEstimator?: ((record: RecS["Type"]) => number) | undefined
  /**
   * How long a key's entity, and its batcher, stay alive without records.
   * @default the cluster's `entityMaxIdleTime` (1 minute)
   */
  readonly maxIdleTime?: Duration.Input | undefined
}

/**
 * A batcher entity: the cluster `Entity` and the layer that runs its handlers
 * on a runner.
 *
 * @category models
 * @since 0.1.0
 */
export interface BatcherEntity<
  Name extends string,
  RecS extends Schema.Top,
  ResS extends Schema.Top,
  ErrS extends Schema.Top,
  R
> {
  readonly name: Name
  readonly entity: Entity.Entity<Name, Protocol<RecS, ResS, ErrS>>
  /**
   * Registers the entity on the runner it is built on. A runner serves the
   * keys whose shards it owns; client-only processes do not need it. Fails
   * with `BatcherConfigError` when a batcher option is invalid.
   */
  readonly layer: Layer.Layer<never, BatcherConfigError, Sharding.Sharding | CompletedRecords | R>
  /** The mailbox capacity of each key's entity: the batcher's queue and what its batches hold. */
  readonly mailboxCapacity: number
}

/**
 * The RPCs of a batcher entity: `Submit` (volatile, sent over the network
 * only) and `SubmitDurable` (persisted in the message storage, keyed by the
 * record id, so the same id sent twice is stored once).
 *
 * @category models
 * @since 0.1.0
 */
export type Protocol<RecS extends Schema.Top, ResS extends Schema.Top, ErrS extends Schema.Top> = ReturnType<
  typeof makeProtocol<RecS, ResS, ErrS>
>[number]

/**
 * Defines a batcher entity named `name`. Its entity id is the batch key; a
 * key's entity instance starts a `Batcher` with `options` when its first
 * record arrives, and shuts it down gracefully (processing what it accepted)
 * when the entity is passivated or its runner shuts down.
 *
 * Its handlers run with unbounded concurrency, so concurrent submits batch,
 * and its mailbox holds `maxQueueSize` messages plus what the open, prefetched
 * and processing batches hold; beyond that a submit fails at once with
 * `BatcherUnavailableError` (`reason: "MailboxFull"`). A `submitAll` is one
 * message: its records wait in the batcher's queue (`maxQueueSize`), which
 * holds them back while it is full.
 *
 * **Example**
 * ```ts
 * import { Effect, Schema } from "effect"
 * import { BatcherEntity } from "effect-dynamic-batcher-cluster"
 *
 * const Embedder = BatcherEntity.make("Embedder", {
 *   record: Schema.String,
 *   result: Schema.Array(Schema.Number),
 *   process: (texts) => Effect.succeed(texts.map((text) => [text.length])),
 *   maxBatchSize: 64,
 *   batchTimeout: "10 millis"
 * })
 * // on every runner: Embedder.layer; in producers: BatcherEntity.client(Embedder)
 * ```
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = <
  const Name extends string,
  RecS extends Schema.Top,
  ResS extends Schema.Top,
  ErrS extends Schema.Top = typeof Schema.Never,
  R = never
>(
  name: Name,
  options: Options<RecS, ResS, ErrS, R>
): BatcherEntity<Name, RecS, ResS, ErrS, R> => {
  const { costEstimator, error, maxIdleTime, process, record, result, ...tuning } = options
  const entity = Entity.make(name, makeProtocol(record, result, (error ?? Schema.Never) as ErrS))
  const mailboxCapacity = (tuning.maxQueueSize ?? 5_000) +
    (tuning.maxBatchSize ?? 256) * ((tuning.prefetchBatches ?? 2) + 2)
  const codec = Schema.toCodecJson(result as Schema.Top)
  // A result schema needs no services to encode or decode (it crosses the network the same way).
  const encode = Schema.encodeUnknownEffect(codec) as (value: unknown) => Effect.Effect<unknown, Schema.SchemaError>
  const decode = Schema.decodeUnknownEffect(codec) as (
    encoded: unknown
  ) => Effect.Effect<ResS["Type"], Schema.SchemaError>

  const handlers = Effect.gen(function*() {
    const key: string = (yield* Entity.CurrentAddress).entityId
    const store = yield* CompletedRecords
    type Res = ResS["Type"]
    type Entry = { readonly id: string; readonly record: RecS["Type"] }

    // Runs the records not completed before, keeps their results in the
    // store, and answers the others from it (a redelivery after failover).
    const runBatch = (entries: ReadonlyArray<Entry>, stored: Stored) =>
      Effect.gen(function*() {
        const fresh = stored.size === 0 ? entries : entries.filter((entry) => !stored.has(entry.id))
        const computed = fresh.length === 0 ? [] : yield* process(fresh.map((entry) => entry.record), key)
        if (!Array.isArray(computed) || computed.length !== fresh.length) {
          return yield* new ResultCountMismatchError({
            expected: fresh.length,
            actual: Array.isArray(computed) ? computed.length : 0
          })
        }
        const completed: Array<readonly [string, unknown]> = []
        for (let i = 0; i < fresh.length; i++) {
          completed.push([fresh[i].id, yield* Effect.orDie(encode(computed[i]))])
        }
        let next = 0
        const value: Array<Res> = []
        for (const entry of entries) {
          value.push(
            stored.has(entry.id) ? yield* Effect.orDie(decode(stored.get(entry.id))) : computed[next++]
          )
        }
        return { value, completed }
      })

    const batcher = yield* Batcher.make<Entry, Res, ErrS["Type"] | BatcherUnavailableError, R>({
      ...tuning,
      name: `${name}/${key}`,
      costEstimator: costEstimator && ((entry) => costEstimator(entry.record)),
      process: (entries) =>
        store.transact(name, key, entries.map((entry) => entry.id), (stored) => runBatch(entries, stored)).pipe(
          Effect.catchTag(
            "SqlError",
            (cause) => Effect.fail(new BatcherUnavailableError({ key, reason: "SqlError", cause }))
          )
        )
    }).pipe(Effect.orDie) // the options were validated when the layer was built

    // A record whose id is already running here waits for that run instead
    // of running again (a duplicate submit while the first is in flight).
    const running = new Map<string, Deferred.Deferred<Res, ErrS["Type"] | BatcherError | BatcherUnavailableError>>()
    const submit = (payload: SubmitPayload<RecS["Type"]>): Effect.Effect<
      Res,
      ErrS["Type"] | BatcherError | BatcherUnavailableError
    > =>
      Effect.suspend(() => {
        const first = running.get(payload.id)
        if (first !== undefined) {
          return Deferred.await(first).pipe(
            // the first run was interrupted (its caller went away): run this one
            Effect.catchCause((cause) => Cause.hasInterruptsOnly(cause) ? submit(payload) : Effect.failCause(cause))
          )
        }
        const done = Deferred.makeUnsafe<Res, ErrS["Type"] | BatcherError | BatcherUnavailableError>()
        running.set(payload.id, done)
        const entry: Entry = { id: payload.id, record: payload.record }
        return batcher.submit(entry, payload.cost === undefined ? undefined : { cost: payload.cost }).pipe(
          Effect.onExit((exit) => {
            running.delete(payload.id)
            return Deferred.done(done, exit)
          })
        )
      })

    const submitAll = (records: ReadonlyArray<SubmitPayload<RecS["Type"]>>) =>
      Effect.forEach(records, submit, { concurrency: "unbounded" })

    return entity.of({
      Submit: (request: Request<RecS["Type"]>) => submit(request.payload),
      SubmitDurable: (request: Request<RecS["Type"]>) => submit(request.payload),
      SubmitAll: (request: BulkRequest<RecS["Type"]>) => submitAll(request.payload.records),
      SubmitAllDurable: (request: BulkRequest<RecS["Type"]>) => submitAll(request.payload.records)
    } as any)
  })

  const register = entity.toLayer(handlers as any, {
    concurrency: "unbounded",
    mailboxCapacity,
    maxIdleTime
  }) as Layer.Layer<never, never, Sharding.Sharding | CompletedRecords | R>
  // Invalid options fail the layer, once, instead of every key's entity at
  // activation (where a failure would be retried as a defect): a batcher with
  // the same options is started and shut down first.
  const validate = Effect.scoped(Batcher.make({ ...tuning, name, process: () => Effect.succeed([]) }))
  const layer = Layer.unwrap(Effect.as(validate, register))
  return { name, entity, layer, mailboxCapacity }
}

/**
 * Options of one `submit`.
 *
 * @category models
 * @since 0.1.0
 */
export interface SubmitOptions {
  /**
   * The record's id: the key of de-duplication. Give your own to make retries
   * safe; by default a random UUID.
   */
  readonly id?: string | undefined
  /** The record's cost; when given, no estimator is called. */
  readonly cost?: number | undefined
  /**
   * Persist the message in the cluster's message storage: it survives a
   * runner crash and is delivered at least once (then de-duplicated by id).
   * Without it, a runner crash fails the submit with `BatcherUnavailableError`.
   * @default false
   */
  readonly durable?: boolean | undefined
}

/**
 * Options of one `submitAll`.
 *
 * @category models
 * @since 0.1.0
 */
export interface SubmitAllOptions {
  /** One id per record, in order; a missing one is a random UUID. */
  readonly ids?: ReadonlyArray<string> | undefined
  /** One cost per record, in order; a missing one comes from the estimator. */
  readonly costs?: ReadonlyArray<number> | undefined
  /**
   * As in `SubmitOptions`: the records travel as one persisted message,
   * keyed by their ids (the same ids sent again get the stored reply).
   */
  readonly durable?: boolean | undefined
}

/**
 * A producer's handle on a batcher entity, from any process of the cluster.
 *
 * @category models
 * @since 0.1.0
 */
export interface Client<Rec, Res, E> {
  /** Sends `record` to the batcher of `key` and returns its result. */
  submit(
    key: string,
    record: Rec,
    options?: SubmitOptions
  ): Effect.Effect<Res, E | BatcherError | BatcherUnavailableError>
  /**
   * Sends every record to the batcher of `key` in one message (one RPC, not
   * one per record), where they are submitted together and share batches;
   * returns their results in order, or the first failure.
   */
  submitAll(
    key: string,
    records: Iterable<Rec>,
    options?: SubmitAllOptions
  ): Effect.Effect<Array<Res>, E | BatcherError | BatcherUnavailableError>
}

/**
 * A client of `self`, for producers on runners and on client-only processes.
 * Every failure of the cluster (a full mailbox, a runner that crashed or
 * moved, storage errors, a broken connection) is one `BatcherUnavailableError`;
 * the batch's `E` and `BatcherError`s come through as they are.
 *
 * **Example**
 * ```ts
 * import { Effect, Schema } from "effect"
 * import { BatcherEntity } from "effect-dynamic-batcher-cluster"
 *
 * const Doubler = BatcherEntity.make("Doubler", {
 *   record: Schema.Number,
 *   result: Schema.Number,
 *   process: (xs) => Effect.succeed(xs.map((x) => x * 2))
 * })
 * const program = Effect.gen(function*() {
 *   const doubler = yield* BatcherEntity.client(Doubler)
 *   return yield* doubler.submit("tenant-1", 21, { id: "order-7", durable: true }) // 42
 * })
 * ```
 *
 * @category constructors
 * @since 0.1.0
 */
export const client = <
  Name extends string,
  RecS extends Schema.Top,
  ResS extends Schema.Top,
  ErrS extends Schema.Top,
  R
>(
  self: BatcherEntity<Name, RecS, ResS, ErrS, R>
): Effect.Effect<Client<RecS["Type"], ResS["Type"], ErrS["Type"]>, never, Sharding.Sharding> =>
  Effect.map(self.entity.client, (clientFor) => {
    type Result = Effect.Effect<ResS["Type"], ErrS["Type"] | BatcherError | BatcherUnavailableError>
    const submit = (key: string, record: RecS["Type"], options?: SubmitOptions): Result => {
      const keyed: any = clientFor(key)
      const payload = { id: options?.id ?? crypto.randomUUID(), record, cost: options?.cost }
      const sent: Effect.Effect<ResS["Type"], unknown> = options?.durable === true
        ? keyed.SubmitDurable(payload)
        : keyed.Submit(payload)
      return sent.pipe(
        Effect.catchCause((cause) => Effect.failCause(unavailable(key, cause)))
      ) as Result
    }
    const submitAll = (key: string, records: Iterable<RecS["Type"]>, options?: SubmitAllOptions) => {
      const keyed: any = clientFor(key)
      const payload = {
        records: Array.from(records, (record, i) => ({
          id: options?.ids?.[i] ?? crypto.randomUUID(),
          record,
          cost: options?.costs?.[i]
        }))
      }
      const sent: Effect.Effect<Array<ResS["Type"]>, unknown> = options?.durable === true
        ? keyed.SubmitAllDurable(payload)
        : keyed.SubmitAll(payload)
      return sent.pipe(
        Effect.catchCause((cause) => Effect.failCause(unavailable(key, cause)))
      ) as Effect.Effect<Array<ResS["Type"]>, ErrS["Type"] | BatcherError | BatcherUnavailableError>
    }
    return { submit, submitAll }
  })
