/**
 * The one error a cluster client sees when the cluster, not the batch, failed
 * a record: the entity's runner crashed or moved, its mailbox was full, the
 * message storage failed. The record may or may not have run.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"

/**
 * The cluster could not deliver a record to its batcher, or its result back.
 *
 * When to use: match on it to retry. A retry with the same record `id` is safe
 * within the de-duplication window: a record that did complete returns its
 * stored result instead of running again.
 *
 * Details: `reason` names what failed (`"MailboxFull"`, `"RunnerUnavailable"`,
 * `"PersistenceError"`, …); `cause` holds the underlying error, when there was one.
 *
 * **Example**
 * ```ts
 * import { Effect } from "effect"
 * import { BatcherUnavailableError } from "effect-dynamic-batcher-cluster"
 *
 * declare const submit: Effect.Effect<number, BatcherUnavailableError>
 * const retried = submit.pipe(Effect.retry({ while: (e) => e._tag === "BatcherUnavailableError", times: 3 }))
 * ```
 *
 * @category errors
 * @since 0.1.0
 */
export class BatcherUnavailableError extends Schema.TaggedError<BatcherUnavailableError>()(
  "BatcherUnavailableError",
  {
    key: Schema.String,
    reason: Schema.String,
    cause: Schema.optional(Schema.Defect())
  }
) {
  override get message(): string {
    return `The batcher for key ${JSON.stringify(this.key)} is unavailable (${this.reason}); ` +
      "the record may or may not have run"
  }
}
