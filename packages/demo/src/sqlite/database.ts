/**
 * The embedded database of the SQLite part (`node:sqlite`): a database file
 * in a temp directory, and event tables written batched or row by row.
 */
import type { Scope } from "effect"
import { Data, Effect } from "effect"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { DatabaseSync } from "node:sqlite"
import type { Event } from "./events.ts"

/** An SQLite operation failed. */
export class SqliteError extends Data.TaggedError("SqliteError")<{
  readonly operation: string
  readonly cause: unknown
}> {}

const attempt = <A>(operation: string, run: () => A): Effect.Effect<A, SqliteError> =>
  Effect.try({ try: run, catch: (cause) => new SqliteError({ operation, cause }) })

/**
 * A new database file, with SQLite's default durability (rollback journal,
 * `synchronous=FULL`), in a new temp directory. Closing the scope closes the
 * database and removes the directory.
 */
export const openTempDatabase: Effect.Effect<DatabaseSync, SqliteError, Scope.Scope> = Effect.acquireRelease(
  attempt("open a database in a temp directory", () => {
    const directory = mkdtempSync(join(tmpdir(), "effect-dynamic-batcher-demo-"))
    try {
      return { directory, database: new DatabaseSync(join(directory, "events.db")) }
    } catch (error) {
      rmSync(directory, { recursive: true, force: true })
      throw error
    }
  }),
  ({ database, directory }) =>
    Effect.sync(() => {
      database.close()
      rmSync(directory, { recursive: true, force: true })
    })
).pipe(Effect.map(({ database }) => database))

/** A table of events. */
export interface EventTable {
  /**
   * Inserts `events` in one transaction, one INSERT per row, and returns their
   * row ids in order. On a failure the transaction is rolled back.
   */
  readonly insertInTransaction: (events: ReadonlyArray<Event>) => Effect.Effect<ReadonlyArray<number>, SqliteError>
  /** Inserts one event in its own implicit transaction and returns its row id. */
  readonly insertAlone: (event: Event) => Effect.Effect<number, SqliteError>
  /** How many rows the table holds, by `SELECT COUNT(*)`. */
  readonly count: Effect.Effect<number, SqliteError>
}

/** Creates the event table `name` in `database`. */
export const createEventTable = (database: DatabaseSync, name: string): Effect.Effect<EventTable, SqliteError> =>
  attempt(`create table ${name}`, () => {
    database.exec(
      `CREATE TABLE ${name} (id INTEGER PRIMARY KEY, producer INTEGER NOT NULL, seq INTEGER NOT NULL, payload TEXT NOT NULL)`
    )
    const insert = database.prepare(`INSERT INTO ${name} (producer, seq, payload) VALUES (?, ?, ?)`)
    const countRows = database.prepare(`SELECT COUNT(*) AS count FROM ${name}`)
    const insertRow = (event: Event) => Number(insert.run(event.producer, event.seq, event.payload).lastInsertRowid)
    return {
      insertInTransaction: (events) =>
        attempt(`insert ${events.length} rows into ${name} in one transaction`, () => {
          database.exec("BEGIN")
          try {
            const ids = events.map(insertRow)
            database.exec("COMMIT")
            return ids
          } catch (error) {
            database.exec("ROLLBACK")
            throw error
          }
        }),
      insertAlone: (event) => attempt(`insert a row into ${name}`, () => insertRow(event)),
      count: attempt(`count the rows of ${name}`, () => Number(countRows.get()?.count))
    }
  })
