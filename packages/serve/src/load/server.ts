/**
 * `pnpm serve` as a child process: started on a free loopback port, its URL
 * read from its "listening on" line, stopped with SIGTERM (or killed, if it is
 * still running when the scope closes). Used by `pnpm load` and the tests.
 */
import { Data, Effect } from "effect"
import type { Scope } from "effect"
import type { ChildProcess } from "node:child_process"
import { spawn } from "node:child_process"
import { once } from "node:events"
import { fileURLToPath } from "node:url"

const MAIN = fileURLToPath(new URL("../main.ts", import.meta.url))

/** The service process did not start. */
export class ServerStartError extends Data.TaggedError("ServerStartError")<{
  readonly message: string
}> {}

/** A running service process. */
export interface ServerProcess {
  readonly child: ChildProcess
  /** `http://127.0.0.1:<port>` */
  readonly url: string
  /** Everything it printed on stdout so far. */
  readonly output: () => string
  /** Sends SIGTERM and waits for the exit code. */
  readonly stop: Effect.Effect<number | null>
}

const exitCode = (child: ChildProcess): Effect.Effect<number | null> =>
  Effect.promise(async () => child.exitCode ?? (await once(child, "exit"))[0] as number | null)

/**
 * Starts the service with `args` (after `--port 0`) in the current scope, on
 * this process's Node, and waits until it listens.
 *
 * **Example**
 * ```ts
 * const server = yield* spawnServer(["--max-batch-size", "1"])
 * // … requests to server.url …
 * const code = yield* server.stop // 0 after a clean drain
 * ```
 */
export const spawnServer = (args: ReadonlyArray<string>): Effect.Effect<ServerProcess, ServerStartError, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.tryPromise({
      try: async () => {
        const child = spawn(process.execPath, [MAIN, "--port", "0", ...args], { stdio: ["ignore", "pipe", "inherit"] })
        let output = ""
        const url = await new Promise<string>((resolve, reject) => {
          child.stdout!.on("data", (chunk: Buffer) => {
            output += chunk.toString()
            const match = /listening on (http:\/\/\S+)/.exec(output)
            if (match) resolve(match[1])
          })
          child.once("exit", (code) => reject(new Error(`it exited with code ${code} before listening:\n${output}`)))
          child.once("error", reject)
        })
        const stop = Effect.suspend(() => {
          if (child.exitCode === null) child.kill("SIGTERM")
          return exitCode(child)
        })
        return { child, url, output: () => output, stop }
      },
      catch: (error) => new ServerStartError({ message: `pnpm serve did not start: ${(error as Error).message}` })
    }),
    ({ child }) =>
      Effect.sync(() => {
        if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL")
      })
  )
