import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber } from "effect"
import { spawn } from "node:child_process"
import type { ChildProcess } from "node:child_process"
import { once } from "node:events"
import { fileURLToPath } from "node:url"
import { postEmbed, waitForHealth } from "./helpers.ts"

const MAIN = fileURLToPath(new URL("../src/main.ts", import.meta.url))

/** `pnpm serve` as a child process on a free loopback port, killed at the end of the test if still running. */
const spawnServe = (args: ReadonlyArray<string>) =>
  Effect.acquireRelease(
    Effect.promise(async () => {
      const child = spawn(process.execPath, [MAIN, "--port", "0", ...args], { stdio: ["ignore", "pipe", "inherit"] })
      let output = ""
      const url = await new Promise<string>((resolve, reject) => {
        child.stdout!.on("data", (chunk: Buffer) => {
          output += chunk.toString()
          const match = /listening on (http:\/\/\S+)/.exec(output)
          if (match) resolve(match[1])
        })
        child.once("exit", (code) => reject(new Error(`serve exited with ${code} before listening:\n${output}`)))
      })
      return { child, url, output: () => output }
    }),
    ({ child }) => Effect.sync(() => child.exitCode === null && child.kill("SIGKILL"))
  )

const exited = (child: ChildProcess) =>
  Effect.promise(async () => child.exitCode ?? (await once(child, "exit"))[0] as number | null)

describe("serve, as a process", () => {
  it.live("SIGTERM with requests in flight: every one completes with its embedding, new ones get 503, exit 0", () =>
    Effect.gen(function*() {
      // Batches wait for their timeout (5 s), so the requests are surely in flight when SIGTERM comes.
      const serve = yield* spawnServe(["--dispatch", "full", "--batch-timeout", "5000", "--max-batch-size", "1000"])
      const texts = Array.from({ length: 20 }, (_, i) => `request ${i} in flight at SIGTERM`)
      const inFlight = yield* Effect.forkChild(
        Effect.forEach(texts, (text) => postEmbed(serve.url, { text }), { concurrency: "unbounded" })
      )
      yield* waitForHealth(serve.url, (body) => body.requestsInFlight === texts.length)
      serve.child.kill("SIGTERM")
      yield* waitForHealth(serve.url, (body) => body.status === "draining")
      const refused = yield* postEmbed(serve.url, { text: "after SIGTERM" })
      assert.strictEqual(refused.status, 503)
      assert.strictEqual(refused.headers.get("retry-after"), "1")
      const replies = yield* Fiber.join(inFlight)
      assert.deepStrictEqual(replies.map((reply) => reply.status), texts.map(() => 200))
      for (const reply of replies) assert.strictEqual(reply.body.embedding.length, 256)
      assert.strictEqual(yield* exited(serve.child), 0)
      assert.include(serve.output(), "SIGTERM: draining")
      assert.include(serve.output(), "stopped")
    }))
})
