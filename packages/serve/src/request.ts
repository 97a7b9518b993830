/**
 * Reading an `/embed` request: the body, within its size limit, and its JSON
 * `{ "text": "…" }` or `{ "texts": ["…", …] }`, with a message that says what
 * is wrong when it is neither.
 */
import { Effect } from "effect"
import { ByteSize } from "effect"
import type { HttpServerRequest } from "effect/http"
import { HttpIncomingMessage } from "effect/http"
import { RequestError } from "./errors.ts"

/** A parsed `/embed` request: one text, or a list of them. */
export type EmbedRequest =
  | { readonly _tag: "One"; readonly text: string }
  | { readonly _tag: "Many"; readonly texts: ReadonlyArray<string> }

const SHAPE = `a JSON object with "text" (a string) or "texts" (an array of strings)`

const badRequest = (message: string) => new RequestError({ status: 400, message })

const tooLarge = (maxBytes: number) =>
  new RequestError({ status: 413, message: `the body is larger than ${maxBytes} bytes (--max-body-bytes)` })

const describe = (value: unknown): string => value === null ? "null" : Array.isArray(value) ? "an array" : typeof value

/**
 * Parses the body of an `/embed` request, failing with a 400 `RequestError`
 * that names the problem.
 *
 * **Example**
 * ```ts
 * parseEmbedRequest('{"texts": ["a", "b"]}') // Effect succeeding with { _tag: "Many", texts: ["a", "b"] }
 * ```
 */
export const parseEmbedRequest = (body: string): Effect.Effect<EmbedRequest, RequestError> =>
  Effect.gen(function*() {
    const json: unknown = yield* Effect.try({
      try: () => JSON.parse(body),
      catch: (error) => badRequest(`the body is not valid JSON (${(error as Error).message}); send ${SHAPE}`)
    })
    if (typeof json !== "object" || json === null || Array.isArray(json)) {
      return yield* badRequest(`the body must be ${SHAPE}, got ${describe(json)}`)
    }
    const { text, texts } = json as { readonly text?: unknown; readonly texts?: unknown }
    if (text !== undefined && texts !== undefined) return yield* badRequest(`give "text" or "texts", not both`)
    if (text !== undefined) {
      if (typeof text !== "string") return yield* badRequest(`"text" must be a string, got ${describe(text)}`)
      return { _tag: "One", text } as const
    }
    if (texts === undefined) return yield* badRequest(`the body must be ${SHAPE}: both are missing`)
    if (!Array.isArray(texts)) return yield* badRequest(`"texts" must be an array of strings, got ${describe(texts)}`)
    const wrong = texts.findIndex((t) => typeof t !== "string")
    if (wrong !== -1) return yield* badRequest(`"texts"[${wrong}] must be a string, got ${describe(texts[wrong])}`)
    return { _tag: "Many", texts: texts as ReadonlyArray<string> } as const
  })

/**
 * The body of `request` as text, at most `maxBytes` bytes: a larger body
 * fails with a 413 `RequestError` (at once when its `Content-Length` says so,
 * else as soon as the bytes read pass the limit).
 *
 * **Example**
 * ```ts
 * const body = yield* readBody(request, 1024 * 1024)
 * ```
 */
export const readBody = (
  request: HttpServerRequest.HttpServerRequest,
  maxBytes: number
): Effect.Effect<string, RequestError> => {
  const declared = Number(request.headers["content-length"])
  if (Number.isFinite(declared) && declared > maxBytes) return Effect.fail(tooLarge(maxBytes))
  return request.text.pipe(
    Effect.provideService(HttpIncomingMessage.MaxBodySize, ByteSize.bytes(maxBytes)),
    Effect.mapError((error) =>
      error.reason._tag === "RequestParseError" && error.reason.reason === "BodyTooLarge"
        ? tooLarge(maxBytes)
        : badRequest(`the body could not be read: ${error.message}`)
    )
  )
}
