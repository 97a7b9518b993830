/**
 * The cluster a batcher entity runs on: runners and client-only processes
 * talking over sockets (`NodeClusterSocket`), with the message storage, the
 * runner registry and the completed records in PostgreSQL (`@effect/sql-pg`).
 * Everything is read through `Config`.
 *
 * @since 0.1.0
 */
import { NodeClusterSocket } from "@effect/platform-node"
import { PgClient } from "@effect/sql-pg"
import type { Redacted } from "effect"
import { Config, Duration, Effect, Layer, Option } from "effect"
import type { MessageStorage, Runners, Sharding } from "effect/cluster"
import { RunnerAddress, ShardingConfig } from "effect/cluster"
import type { SocketServer } from "effect/socket"
import type { SqlClient, SqlError } from "effect/sql"
import * as CompletedRecords from "./CompletedRecords.ts"

/**
 * What `config` reads.
 *
 * @category models
 * @since 0.1.0
 */
export interface ClusterConfig {
  /** `<prefix>_DATABASE_URL`: the PostgreSQL connection string (required). */
  readonly databaseUrl: Redacted.Redacted
  /** `<prefix>_RUNNER_HOST`: the host other runners reach this one on. @default "127.0.0.1" */
  readonly runnerHost: string
  /** `<prefix>_RUNNER_PORT`: the port this runner listens on. @default 34431 */
  readonly runnerPort: number
  /** `<prefix>_SHARDS_PER_GROUP`: the number of shards; the same on every process. @default 300 */
  readonly shardsPerGroup: number
  /** `<prefix>_SHARD_LOCK_REFRESH_INTERVAL`. @default 10 seconds */
  readonly shardLockRefreshInterval: Duration.Duration
  /** `<prefix>_SHARD_LOCK_EXPIRATION`: how long a crashed runner keeps its shards. @default 35 seconds */
  readonly shardLockExpiration: Duration.Duration
  /** `<prefix>_ENTITY_MESSAGE_POLL_INTERVAL`: how often stored messages are polled. @default 10 seconds */
  readonly entityMessagePollInterval: Duration.Duration
  /** `<prefix>_ENTITY_REPLY_POLL_INTERVAL`: how often a durable submit polls for its reply. @default 200 millis */
  readonly entityReplyPollInterval: Duration.Duration
  /** `<prefix>_REFRESH_ASSIGNMENTS_INTERVAL`: how often shard assignments are read. @default 3 seconds */
  readonly refreshAssignmentsInterval: Duration.Duration
  /** `<prefix>_RUNNER_HEALTH_CHECK_INTERVAL`: how often peers are pinged. @default 1 minute */
  readonly runnerHealthCheckInterval: Duration.Duration
  /** `<prefix>_ENTITY_TERMINATION_TIMEOUT`: how long a stopping key may drain. @default 15 seconds */
  readonly entityTerminationTimeout: Duration.Duration
  /** `<prefix>_DEDUP_WINDOW`: how long completed records are remembered. @default 10 minutes */
  readonly dedupWindow: Duration.Duration
}

/**
 * The `Config` of a cluster process, every variable under `prefix` (default
 * `"BATCHER_CLUSTER"`): `BATCHER_CLUSTER_DATABASE_URL`,
 * `BATCHER_CLUSTER_RUNNER_PORT`, … (see `ClusterConfig`). The defaults are
 * effect/cluster's.
 *
 * **Example**
 * ```ts
 * import { BatcherCluster } from "effect-dynamic-batcher-cluster"
 *
 * // EMBED_DATABASE_URL=postgres://… EMBED_RUNNER_PORT=50001 node runner.js
 * const Runner = BatcherCluster.layerRunner({ config: BatcherCluster.config("EMBED") })
 * ```
 *
 * @category config
 * @since 0.1.0
 */
export const config = (prefix = "BATCHER_CLUSTER"): Config.Config<ClusterConfig> => {
  const duration = (name: string, fallback: Duration.Input) =>
    Config.Duration(`${prefix}_${name}`).pipe(Config.withDefault(Duration.fromInputUnsafe(fallback)))
  const defaults = ShardingConfig.defaults
  return Config.all({
    databaseUrl: Config.Redacted(`${prefix}_DATABASE_URL`),
    runnerHost: Config.String(`${prefix}_RUNNER_HOST`).pipe(Config.withDefault("127.0.0.1")),
    runnerPort: Config.Port(`${prefix}_RUNNER_PORT`).pipe(Config.withDefault(34431)),
    shardsPerGroup: Config.Int(`${prefix}_SHARDS_PER_GROUP`).pipe(Config.withDefault(defaults.shardsPerGroup)),
    shardLockRefreshInterval: duration("SHARD_LOCK_REFRESH_INTERVAL", defaults.shardLockRefreshInterval),
    shardLockExpiration: duration("SHARD_LOCK_EXPIRATION", defaults.shardLockExpiration),
    entityMessagePollInterval: duration("ENTITY_MESSAGE_POLL_INTERVAL", defaults.entityMessagePollInterval),
    entityReplyPollInterval: duration("ENTITY_REPLY_POLL_INTERVAL", defaults.entityReplyPollInterval),
    refreshAssignmentsInterval: duration("REFRESH_ASSIGNMENTS_INTERVAL", defaults.refreshAssignmentsInterval),
    runnerHealthCheckInterval: duration("RUNNER_HEALTH_CHECK_INTERVAL", defaults.runnerHealthCheckInterval),
    entityTerminationTimeout: duration("ENTITY_TERMINATION_TIMEOUT", defaults.entityTerminationTimeout),
    dedupWindow: duration("DEDUP_WINDOW", "10 minutes")
  })
}

/**
 * Options of `layerRunner` and `layerClient`.
 *
 * @category models
 * @since 0.1.0
 */
export interface LayerOptions {
  /** Where the settings come from. @default config() */
  readonly config?: Config.Config<ClusterConfig> | undefined
  /** Connections of this process's PostgreSQL pool. @default 10 */
  readonly maxConnections?: number | undefined
}

/**
 * A runner: it listens on `RUNNER_HOST:RUNNER_PORT`, owns a share of the
 * shards, runs the batcher entities whose layers are built on it, and keeps
 * completed records in PostgreSQL (`CompletedRecords.layerSql`). It also
 * provides the `SqlClient`, for a `process` that writes in its batch's transaction.
 *
 * **Example**
 * ```ts
 * import { NodeRuntime } from "@effect/platform-node"
 * import { Effect, Layer, Schema } from "effect"
 * import { BatcherCluster, BatcherEntity } from "effect-dynamic-batcher-cluster"
 *
 * const Doubler = BatcherEntity.make("Doubler", {
 *   record: Schema.Number,
 *   result: Schema.Number,
 *   process: (xs) => Effect.succeed(xs.map((x) => x * 2))
 * })
 * Layer.launch(Doubler.layer.pipe(Layer.provide(BatcherCluster.layerRunner()))).pipe(NodeRuntime.runMain)
 * ```
 *
 * @category layers
 * @since 0.1.0
 */
export const layerRunner = (options?: LayerOptions): Layer.Layer<
  | Sharding.Sharding
  | Runners.Runners
  | MessageStorage.MessageStorage
  | CompletedRecords.CompletedRecords
  | SqlClient.SqlClient,
  Config.ConfigError | SqlError.SqlError | SocketServer.SocketServerError
> =>
  Layer.unwrap(Effect.gen(function*() {
    const settings = yield* options?.config ?? config()
    const cluster = NodeClusterSocket.layer({
      storage: "sql",
      shardingConfig: {
        ...shardingConfigOf(settings),
        runnerAddress: Option.some(RunnerAddress.make(settings.runnerHost, settings.runnerPort))
      }
    })
    return Layer.mergeAll(cluster, CompletedRecords.layerSql({ window: settings.dedupWindow })).pipe(
      Layer.provideMerge(database(settings, options))
    )
  }))

/**
 * A client-only process: it runs no entity and owns no shard, and sends
 * submits to the runners that do. It needs the same database (to find the
 * runners and to store durable submits) and the same shard count.
 *
 * **Example**
 * ```ts
 * import { Effect, Schema } from "effect"
 * import { BatcherCluster, BatcherEntity } from "effect-dynamic-batcher-cluster"
 *
 * const Doubler = BatcherEntity.make("Doubler", {
 *   record: Schema.Number,
 *   result: Schema.Number,
 *   process: (xs) => Effect.succeed(xs.map((x) => x * 2))
 * })
 * const program = Effect.gen(function*() {
 *   const doubler = yield* BatcherEntity.client(Doubler)
 *   return yield* doubler.submit("tenant-1", 21)
 * }).pipe(Effect.provide(BatcherCluster.layerClient()))
 * ```
 *
 * @category layers
 * @since 0.1.0
 */
export const layerClient = (options?: LayerOptions): Layer.Layer<
  Sharding.Sharding | Runners.Runners | MessageStorage.MessageStorage,
  Config.ConfigError | SqlError.SqlError
> =>
  Layer.unwrap(Effect.gen(function*() {
    const settings = yield* options?.config ?? config()
    return NodeClusterSocket.layer({
      storage: "sql",
      clientOnly: true,
      shardingConfig: { ...shardingConfigOf(settings), runnerAddress: Option.none() }
    }).pipe(Layer.provide(database(settings, options)))
  }))

// internals

const shardingConfigOf = (settings: ClusterConfig): Partial<ShardingConfig.ShardingConfig["Service"]> => ({
  runnerListenAddress: Option.none(),
  shardsPerGroup: settings.shardsPerGroup,
  shardLockRefreshInterval: settings.shardLockRefreshInterval,
  shardLockExpiration: settings.shardLockExpiration,
  entityMessagePollInterval: settings.entityMessagePollInterval,
  entityReplyPollInterval: settings.entityReplyPollInterval,
  refreshAssignmentsInterval: settings.refreshAssignmentsInterval,
  runnerHealthCheckInterval: settings.runnerHealthCheckInterval,
  entityTerminationTimeout: settings.entityTerminationTimeout
})

const database = (settings: ClusterConfig, options: LayerOptions | undefined) =>
  PgClient.layer({ url: settings.databaseUrl, maxConnections: options?.maxConnections ?? 10 })
