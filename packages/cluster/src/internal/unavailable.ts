/**
 * How a cluster client's failures become `BatcherUnavailableError`.
 */
import { Cause } from "effect"
import { BatcherUnavailableError } from "../BatcherUnavailableError.ts"

const clusterErrorTypeId = "~effect/cluster/ClusterError"

// Defects raised by the transport when a runner goes away (the connection
// breaks, the runner is unknown or unreachable); a defect of `process` is none
// of these and stays a defect.
const transportDefects = new Set(["SocketError", "RpcClientError", "RunnerUnavailable", "RunnerNotRegistered"])

const reasonOf = (error: unknown): string | undefined => {
  if (typeof error !== "object" || error === null || !("_tag" in error)) return undefined
  const tag = (error as { readonly _tag: unknown })._tag
  if (typeof tag !== "string") return undefined
  return clusterErrorTypeId in error || transportDefects.has(tag) ? tag : undefined
}

/**
 * Turns the cluster's own failures and transport defects into
 * `BatcherUnavailableError`, and so an interruption that came back as the
 * reply: the cluster answers a non-durable request with an interrupt when the
 * key's entity stops before running it (its shard moved, its runner stops).
 * The caller's own interruption never reaches this: it stays an interruption.
 */
export const unavailable = (key: string, cause: Cause.Cause<unknown>): Cause.Cause<unknown> => {
  for (const reason of cause.reasons) {
    const error = Cause.isFailReason(reason) ? reason.error : Cause.isDieReason(reason) ? reason.defect : undefined
    const tag = reasonOf(error)
    if (tag !== undefined) return Cause.fail(new BatcherUnavailableError({ key, reason: tag, cause: error }))
  }
  if (Cause.hasInterruptsOnly(cause)) return Cause.fail(new BatcherUnavailableError({ key, reason: "Interrupted" }))
  return cause
}
