/**
 * The service's answers to requests it does not serve: a status, a message
 * that says what was wrong, and for 429 and 503 when to retry.
 */
import { Data } from "effect"
import { HttpServerResponse } from "effect/http"

/**
 * A request the service refuses: 400 (bad JSON or fields), 413 (too large),
 * 429 (queue full), 503 (draining).
 *
 * **Example**
 * ```ts
 * new RequestError({ status: 400, message: "the body is not valid JSON" })
 * ```
 */
export class RequestError extends Data.TaggedError("RequestError")<{
  readonly status: 400 | 413 | 429 | 503
  readonly message: string
  readonly retryAfterSeconds?: number
}> {}

/**
 * The JSON response `{ "error": message }` of `error`, with `Retry-After` when
 * it has one; a 503 also closes the connection, so the client's next attempt
 * finds another instance.
 *
 * **Example**
 * ```ts
 * Effect.catchTag("RequestError", (error) => Effect.succeed(errorResponse(error)))
 * ```
 */
export const errorResponse = (error: RequestError): HttpServerResponse.HttpServerResponse => {
  const headers: Record<string, string> = {}
  if (error.retryAfterSeconds !== undefined) headers["retry-after"] = String(error.retryAfterSeconds)
  if (error.status === 503) headers.connection = "close"
  return HttpServerResponse.jsonUnsafe({ error: error.message }, { status: error.status, headers })
}
