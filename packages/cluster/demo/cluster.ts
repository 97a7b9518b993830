/**
 * Runs a whole cluster on 127.0.0.1 for the tests and the demo: runner
 * processes, then producer processes, optionally killing one runner (SIGKILL,
 * by pid) once the producers are under way; returns what every process
 * reported and what the `processed` table holds.
 */
import { PgClient } from "@effect/sql-pg"
import { Effect, Redacted } from "effect"
import { SqlClient } from "effect/sql"
import { type ChildProcess, spawn } from "node:child_process"
import { mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { createInterface } from "node:readline"
import { createProcessedTable } from "./entity.ts"
import { freePort, startPostgres } from "./postgres.ts"
import type { Outcome } from "./producer.ts"

/**
 * The shortened cluster timings of the tests and the demo (production keeps
 * effect/cluster's defaults, see the README): a crashed runner's shards move
 * after a few seconds instead of 35.
 */
export const shortTimings: Record<string, string> = {
  BATCHER_CLUSTER_SHARDS_PER_GROUP: "60",
  BATCHER_CLUSTER_SHARD_LOCK_REFRESH_INTERVAL: "1 second",
  BATCHER_CLUSTER_SHARD_LOCK_EXPIRATION: "5 seconds",
  BATCHER_CLUSTER_ENTITY_MESSAGE_POLL_INTERVAL: "500 millis",
  BATCHER_CLUSTER_ENTITY_REPLY_POLL_INTERVAL: "100 millis",
  BATCHER_CLUSTER_REFRESH_ASSIGNMENTS_INTERVAL: "500 millis",
  BATCHER_CLUSTER_RUNNER_HEALTH_CHECK_INTERVAL: "1 second",
  BATCHER_CLUSTER_ENTITY_TERMINATION_TIMEOUT: "5 seconds"
}

/** What a run is asked to do. */
export interface RunOptions {
  readonly databaseUrl: string
  readonly runners: number
  readonly producers: number
  readonly keys: ReadonlyArray<string>
  readonly perKey: number
  /** Kill (SIGKILL) the runner hosting the most keys once this share of the records is done. */
  readonly killAt?: number | undefined
  /** Extra environment of producer `i` (0-based), e.g. `{ CHUNK: "16" }` for submitAll of 16 records. */
  readonly producerEnv?: ((i: number) => Record<string, string>) | undefined
  /** After this long every process is killed and the run fails: nothing outlives a stuck run. @default 140_000 */
  readonly deadlineMs?: number | undefined
  /** Every JSON line a process prints, as it comes. */
  readonly onEvent?: ((event: Event) => void) | undefined
}

/** A JSON line printed by a runner or a producer. */
export interface Event {
  readonly event: string
  readonly runner?: string
  readonly producer?: string
  readonly [field: string]: unknown
}

/** A row of the `processed` table: one record in one committed batch. */
export interface Processed {
  readonly record_id: string
  readonly entity_key: string
  readonly runner: string
  readonly batch_size: number
}

/** What a run saw. */
export interface RunResult {
  readonly outcomes: ReadonlyArray<Outcome>
  readonly processed: ReadonlyArray<Processed>
  /** The last counters of each runner. */
  readonly runners: ReadonlyMap<string, Event>
  /** The producers' summaries. */
  readonly producers: ReadonlyArray<Event>
  readonly killed?: { readonly runner: string; readonly pid: number; readonly keys: ReadonlyArray<string> } | undefined
}

/** Runs the cluster described by `options`; every process it started is gone when it returns. */
export const runCluster = async (options: RunOptions): Promise<RunResult> => {
  await withSql(options.databaseUrl, createProcessedTable)
  const dir = mkdtempSync(join(tmpdir(), "batcher-cluster-run-"))
  const children: Array<ChildProcess> = []
  const runners = new Map<string, Event>()
  const producers: Array<Event> = []
  const done = new Map<string, number>()
  const total = options.producers * options.keys.length * options.perKey
  let killed: RunResult["killed"]
  const env = { ...process.env, ...shortTimings, BATCHER_CLUSTER_DATABASE_URL: options.databaseUrl }

  const start = (script: string, extra: Record<string, string>, onEvent: (event: Event) => void) => {
    const child = spawn(process.execPath, [join(import.meta.dirname, script)], {
      env: { ...env, ...extra },
      stdio: ["ignore", "pipe", "pipe"]
    })
    children.push(child)
    const stderr: Array<string> = []
    createInterface({ input: child.stderr! }).on("line", (line) => stderr.push(line))
    createInterface({ input: child.stdout! }).on("line", (line) => {
      if (!line.startsWith("{")) return
      try {
        const event = JSON.parse(line) as Event
        onEvent(event)
        options.onEvent?.(event)
      } catch {
        // not one of our lines (a log line of the runtime)
      }
    })
    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)))
    return { child, exited, stderr }
  }

  const deadline = setTimeout(() => {
    for (const child of children) child.kill("SIGKILL")
  }, options.deadlineMs ?? 140_000)

  try {
    const started = await Promise.all(Array.from({ length: options.runners }, async (_, i) => {
      const runner = `r${i + 1}`
      let ready!: () => void
      const isReady = new Promise<void>((resolve) => ready = resolve)
      const proc = start(
        "runner.ts",
        { RUNNER_NAME: runner, BATCHER_CLUSTER_RUNNER_PORT: String(await freePort()) },
        (event) => {
          runners.set(runner, event)
          if (event.event === "ready") ready()
        }
      )
      await Promise.race([
        isReady,
        proc.exited.then((code) => {
          throw new Error(`runner ${runner} exited (${code}) before it was ready:\n${proc.stderr.join("\n")}`)
        })
      ])
      return { runner, ...proc }
    }))
    // let the shards settle on all runners before producing
    await new Promise((resolve) => setTimeout(resolve, 2_000))

    const producing = Array.from({ length: options.producers }, (_, i) => {
      const producer = `p${i + 1}`
      const file = join(dir, `${producer}.json`)
      const proc = start("producer.ts", {
        PRODUCER_NAME: producer,
        KEYS: options.keys.join(","),
        PER_KEY: String(options.perKey),
        OUTCOMES_FILE: file,
        ...options.producerEnv?.(i)
      }, (event) => {
        if (event.event === "progress") done.set(producer, event.done as number)
        if (event.event === "done") producers.push(event)
        if (options.killAt !== undefined && killed === undefined) {
          const sum = [...done.values()].reduce((a, b) => a + b, 0)
          if (sum >= options.killAt * total) killed = killBusiest(started)
        }
      })
      return proc.exited.then((code) => {
        if (code !== 0) throw new Error(`producer ${producer} exited with ${code}:\n${proc.stderr.join("\n")}`)
        return JSON.parse(readFileSync(file, "utf8")) as ReadonlyArray<Outcome>
      })
    })
    const outcomes = (await Promise.all(producing)).flat()
    const processed = await withSql(
      options.databaseUrl,
      Effect.gen(function*() {
        const sql = yield* SqlClient.SqlClient
        return yield* sql<Processed>`SELECT record_id, entity_key, runner, batch_size FROM processed`
      })
    )
    return { outcomes, processed, runners, producers, killed }
  } finally {
    clearTimeout(deadline)
    await Promise.all(children.map(stop))
    rmSync(dir, { recursive: true, force: true })
  }

  function killBusiest(started: ReadonlyArray<{ readonly runner: string; readonly child: ChildProcess }>) {
    const keysOf = (runner: string) => (runners.get(runner)?.keys as ReadonlyArray<string> | undefined) ?? []
    const victim = started.reduce((a, b) => keysOf(b.runner).length > keysOf(a.runner).length ? b : a)
    victim.child.kill("SIGKILL")
    const event = { event: "killed", runner: victim.runner, pid: victim.child.pid!, keys: keysOf(victim.runner) }
    options.onEvent?.(event)
    return event
  }
}

/**
 * The demo's cluster: a PostgreSQL server of its own, 3 runners and 2
 * producers, at most 300 s; the server is stopped at the end.
 */
export const runLocalCluster = async (
  options: Omit<RunOptions, "databaseUrl" | "runners" | "producers">
): Promise<RunResult> => {
  const pg = await startPostgres()
  try {
    return await runCluster({ runners: 3, producers: 2, deadlineMs: 300_000, ...options, databaseUrl: pg.url })
  } finally {
    pg.stop()
  }
}

// A runner still alive is asked to stop (SIGTERM: it drains), then killed.
const stop = (child: ChildProcess): Promise<void> =>
  new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve()
    const timer = setTimeout(() => child.kill("SIGKILL"), 10_000)
    child.once("exit", () => {
      clearTimeout(timer)
      resolve()
    })
    child.kill("SIGTERM")
  })

const withSql = <A, E>(url: string, effect: Effect.Effect<A, E, SqlClient.SqlClient>): Promise<A> =>
  Effect.runPromise(effect.pipe(Effect.provide(PgClient.layer({ url: Redacted.make(url), maxConnections: 2 }))))
