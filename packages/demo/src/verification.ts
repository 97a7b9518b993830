/**
 * The demo's checks of real outcomes: a failed check fails the run.
 */
import { Data, Effect } from "effect"

/** A check of the demo's outcome did not hold. */
export class VerificationError extends Data.TaggedError("VerificationError")<{
  readonly message: string
}> {}

/** Succeeds when `holds`, fails with a `VerificationError` carrying `message` otherwise. */
export const verify = (holds: boolean, message: string): Effect.Effect<void, VerificationError> =>
  holds ? Effect.void : Effect.fail(new VerificationError({ message }))
