/**
 * The shared prelude of the README snippets (`pnpm docs:check`): the pieces of the
 * reader's own application that a snippet uses without defining them (a model, an
 * HTTP client, a database, the data), declared as globals. Everything a reader takes
 * from a library (`Effect`, `Batcher`, `createServer`, …) is imported by the snippet
 * itself, never declared here: a snippet must paste into a file and compile once
 * these application pieces exist.
 *
 * Add a declaration here only for such an application piece that several snippets
 * share; a name one snippet needs goes into that snippet's hidden prelude instead.
 * A snippet may define a name of its own with the same name: a module's declaration
 * shadows a global one.
 */
import type { Cause, Effect } from "effect"
import type { SqlError } from "effect/sql"

declare global {
  /** An embedding model behind an Effect: many texts in, one vector each out, in order. */
  function embedMany(texts: ReadonlyArray<string>): Effect.Effect<Array<ReadonlyArray<number>>, Cause.UnknownError>
  /** A text generation model behind an Effect: one completion per prompt, in order. */
  function generate(prompts: ReadonlyArray<{ readonly text: string }>): Effect.Effect<Array<string>, Cause.UnknownError>
  /** Texts to embed. */
  const documents: ReadonlyArray<string>
  /** One text, and a list of texts with their costs (the Promise API section). */
  const text: string
  const texts: Array<string>
  const estimatedCosts: Array<number>

  /** A Promise-based model client (no Effect): the Promise API and the node:http recipe. */
  const model: {
    embed(texts: Array<string>): Promise<Array<ReadonlyArray<number>>>
    score(texts: ReadonlyArray<string>): Promise<Array<number>>
  }
  /** A Promise-based GPU inference client. */
  const gpu: {
    generate(prompts: Array<string>): Promise<Array<string>>
  }

  /** A JSON HTTP client behind an Effect, failing with `HttpError`. */
  const http: {
    post(path: string, body: unknown): Effect.Effect<{ readonly data: Array<ReadonlyArray<number>> }, HttpError>
  }
  class HttpError extends Error {
    readonly _tag: "HttpError"
    readonly status: number
  }

  /** A row of the database recipe, its insert, and the transaction of the SQL client (`effect/sql`). */
  interface Row {
    readonly id: string
    readonly payload: string
  }
  function insertRow(row: Row): Effect.Effect<void, SqlError.SqlError>
  const sql: {
    withTransaction<A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E | SqlError.SqlError, R>
  }
}
