/**
 * `pnpm load`: drives the service over loopback, batched and with
 * `--max-batch-size 1`, for a bounded time each, checks every response
 * against the model's own run of the text sent, and prints requests/s and
 * latency. Exits non-zero when a response was wrong or missing.
 */
import { Console, Effect } from "effect"
import { parseFlags, runMain, UsageError, withUsage } from "effect-dynamic-batcher-demo/cli"
import { EmbeddingModel, Tokenizer } from "effect-dynamic-batcher-demo/model"
import { generateTexts } from "effect-dynamic-batcher-demo/texts"
import type { LoadResult } from "./run.ts"
import { runLoad } from "./run.ts"

const usage = `Usage: pnpm load [-- options]

Starts pnpm serve twice on a free loopback port (batched, then --max-batch-size 1),
drives each with autocannon, one text per POST /embed, and checks every response.

Options:
  --duration <s>      seconds per run (default: 10)
  --connections <n>   concurrent connections (default: 64)
  -h, --help          show this help`

/** Texts sent in turn: enough distinct ones that a batch mixes lengths. */
const TEXTS = 1000

const positive = (flag: string, value: string | undefined, fallback: number, max: number) => {
  if (value === undefined) return Effect.succeed(fallback)
  const n = Number(value)
  return Number.isSafeInteger(n) && n >= 1 && n <= max
    ? Effect.succeed(n)
    : Effect.fail(new UsageError({ message: `--${flag} must be an integer from 1 to ${max}, got "${value}"` }))
}

const formatResult = (result: LoadResult): string => {
  const checked = result.correct + result.wrong
  return [
    `  ${result.config.label}`,
    `    requests/s        ${Math.round(result.requestsPerSecond).toLocaleString("en-US")}`,
    `    latency           p50 ${result.latencyP50Ms} ms, p99 ${result.latencyP99Ms} ms`,
    `    avg batch         ${result.avgBatchSize.toFixed(1)} texts`,
    `    responses checked ${checked.toLocaleString("en-US")}: ${
      result.correct.toLocaleString("en-US")
    } correct, ${result.wrong} wrong, ${result.errors} without a response${
      result.firstProblem === undefined ? "" : ` (first: ${result.firstProblem})`
    }`,
    `    after SIGTERM     exit code ${result.exitCode}`
  ].join("\n")
}

const main = Effect.gen(function*() {
  const values = yield* parseFlags(process.argv.slice(2), {
    duration: { type: "string" },
    connections: { type: "string" },
    help: { type: "boolean", short: "h" }
  })
  if (values.help === true) return yield* Console.log(usage)
  const durationSeconds = yield* positive("duration", values.duration, 10, 600)
  const connections = yield* positive("connections", values.connections, 64, 1024)
  const texts = generateTexts(TEXTS)
  // The same generated model as the service's, each text run alone: what every response must hold.
  const reference = yield* Effect.scoped(
    Effect.flatMap(
      EmbeddingModel.generate(),
      (model) =>
        Effect.forEach(texts, (text) => Effect.map(model.embed([Tokenizer.tokenize(text)]), ([embedding]) => embedding))
    )
  )
  yield* Console.log(
    `Load: ${connections} connections, ${durationSeconds} s per run, one text per request, over loopback`
  )
  const results: Array<LoadResult> = []
  for (
    const config of [
      { label: "batched (--max-batch-size 64, the default)", args: [] },
      { label: "one text per model call (--max-batch-size 1)", args: ["--max-batch-size", "1"] }
    ]
  ) {
    const result = yield* runLoad(config, { connections, durationSeconds, texts, reference })
    yield* Console.log(formatResult(result))
    results.push(result)
  }
  const [batched, single] = results
  yield* Console.log(
    `  speed-up: ${
      (batched.requestsPerSecond / single.requestsPerSecond).toFixed(1)
    }× the requests/s of one text per call`
  )
  if (results.some((r) => r.wrong > 0 || r.errors > 0 || r.exitCode !== 0)) {
    yield* Console.error("Some responses were wrong or missing, or a service did not stop cleanly.")
    process.exitCode = 1
  }
}).pipe(withUsage(usage))

await runMain(main)
