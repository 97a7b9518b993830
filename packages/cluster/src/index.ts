/**
 * effect-dynamic-batcher-cluster: one dynamic batcher per key across
 * machines, on `effect/cluster`.
 *
 * @since 0.1.0
 */

/**
 * The batcher entity (`make`) and its client (`client`).
 *
 * @since 0.1.0
 */
export * as BatcherEntity from "./BatcherEntity.ts"

/**
 * Where an entity remembers the records it completed: in memory or in SQL.
 *
 * @since 0.1.0
 */
export * as CompletedRecords from "./CompletedRecords.ts"

/**
 * @since 0.1.0
 */
export { BatcherUnavailableError } from "./BatcherUnavailableError.ts"

/**
 * The runner and client-only layers on NodeClusterSocket and PostgreSQL.
 *
 * @since 0.1.0
 */
export * as BatcherCluster from "./BatcherCluster.ts"
