/**
 * The RPCs of a batcher entity.
 */
import { Schema } from "effect"
import { BatcherShutdownError, InvalidCostError, ResultCountMismatchError } from "effect-dynamic-batcher"
import { ClusterSchema } from "effect/cluster"
import { Rpc } from "effect/rpc"
import { BatcherUnavailableError } from "../BatcherUnavailableError.ts"

export interface SubmitPayload<Rec> {
  readonly id: string
  readonly record: Rec
  readonly cost?: number | undefined
}

export interface Request<Rec> {
  readonly payload: SubmitPayload<Rec>
}

export interface BulkRequest<Rec> {
  readonly payload: { readonly records: ReadonlyArray<SubmitPayload<Rec>> }
}

// The storage de-duplicates persisted messages of one entity by this key.
const primaryKey = (payload: { readonly id: string }): string => payload.id
const bulkPrimaryKey = (payload: { readonly records: ReadonlyArray<{ readonly id: string }> }): string =>
  JSON.stringify(payload.records.map((record) => record.id))

export const makeProtocol = <RecS extends Schema.Top, ResS extends Schema.Top, ErrS extends Schema.Top>(
  record: RecS,
  result: ResS,
  error: ErrS
) => {
  const payload = { id: Schema.String, record, cost: Schema.optional(Schema.Finite) }
  const bulk = { records: Schema.Array(Schema.Struct(payload)) }
  const failure = Schema.Union([
    error,
    BatcherShutdownError,
    InvalidCostError,
    ResultCountMismatchError,
    BatcherUnavailableError
  ])
  return [
    Rpc.make("Submit", { payload, success: result, error: failure }),
    Rpc.make("SubmitDurable", { payload, success: result, error: failure, primaryKey: primaryKey as any })
      .annotate(ClusterSchema.Persisted, true),
    // submitAll: one message for many records, so the RPC's cost is paid once
    Rpc.make("SubmitAll", { payload: bulk, success: Schema.Array(result), error: failure }),
    Rpc.make("SubmitAllDurable", {
      payload: bulk,
      success: Schema.Array(result),
      error: failure,
      primaryKey: bulkPrimaryKey as any
    }).annotate(ClusterSchema.Persisted, true)
  ] as const
}
