/**
 * The service's command line: where it listens, how it batches, and its
 * limits (`pnpm serve -- --help`).
 */
import { Effect } from "effect"
import { parseFlags, UsageError } from "effect-dynamic-batcher-demo/cli"

/** The service's settings. */
export interface ServeOptions {
  readonly help: boolean
  /** The port to listen on; 0 picks a free one. */
  readonly port: number
  /** The address to bind; loopback unless told otherwise. */
  readonly host: string
  /** An ONNX model file; the demo's generated model when absent. */
  readonly model: string | undefined
  /** The most texts in one model call; 1 turns batching off. */
  readonly maxBatchSize: number
  /** The most tokens in one model call. */
  readonly maxBatchTokens: number
  /** How long a batch may wait for more texts, in milliseconds. */
  readonly batchTimeoutMs: number
  /** When a batch goes: as soon as the model is free (`"idle"`), or only when full or timed out (`"full"`). */
  readonly dispatch: "idle" | "full"
  /** Texts admitted and not yet answered, beyond which a request gets 429; unbounded when absent. */
  readonly maxWaiting: number | undefined
  /** The largest request body, in bytes; larger ones get 413. */
  readonly maxBodyBytes: number
  /** How long a drain waits for requests in flight before the server closes anyway, in milliseconds. */
  readonly drainTimeoutMs: number
}

/** The settings when no flag is given. */
export const defaults: ServeOptions = {
  help: false,
  port: 8080,
  host: "127.0.0.1",
  model: undefined,
  maxBatchSize: 64,
  maxBatchTokens: 4096,
  batchTimeoutMs: 5,
  dispatch: "idle",
  maxWaiting: undefined,
  maxBodyBytes: 1024 * 1024,
  drainTimeoutMs: 30_000
}

/** The `--help` text. */
export const usage = `Usage: pnpm serve [-- options]

An embedding service: POST /embed {"text": "..."} or {"texts": [...]} runs the
texts through effect-dynamic-batcher and an ONNX model on onnxruntime (CPU).
GET /metrics (Prometheus), GET /healthz. SIGTERM drains: requests in flight
complete, new ones get 503.

Options:
  --port <n>              port to listen on, 0 for any free one (default: ${defaults.port})
  --host <address>        address to bind (default: ${defaults.host})
  --model <path.onnx>     an ONNX model instead of the generated one (see pnpm demo -- --help)
  --max-batch-size <n>    most texts per model call, 1 = no batching (default: ${defaults.maxBatchSize})
  --max-batch-tokens <n>  most tokens per model call (default: ${defaults.maxBatchTokens})
  --batch-timeout <ms>    how long a batch waits for more texts (default: ${defaults.batchTimeoutMs})
  --dispatch <idle|full>  a batch goes when the model is free, or only when full
                          or timed out (default: ${defaults.dispatch})
  --max-waiting <n>       texts waiting beyond which requests get 429 (default: no bound)
  --max-body-bytes <n>    largest request body, larger gets 413 (default: ${defaults.maxBodyBytes})
  --drain-timeout <ms>    longest wait for requests in flight at shutdown (default: ${defaults.drainTimeoutMs})
  -h, --help              show this help`

const integer = (
  flag: string,
  value: string | undefined,
  min: number
): Effect.Effect<number | undefined, UsageError> => {
  if (value === undefined) return Effect.succeed(undefined)
  const n = Number(value)
  return value.trim() !== "" && Number.isSafeInteger(n) && n >= min
    ? Effect.succeed(n)
    : Effect.fail(new UsageError({ message: `--${flag} must be an integer >= ${min}, got "${value}"` }))
}

const withDefault = (flag: string, value: string | undefined, min: number, fallback: number) =>
  Effect.map(integer(flag, value, min), (n) => n ?? fallback)

/**
 * Reads the service's settings from `argv` (without the node and script
 * paths), as the demo's `parseFlags` does: `pnpm serve -- --port 9000`.
 *
 * **Example**
 * ```ts
 * const options = yield* parseServeArgs(["--", "--port", "9000"]) // { port: 9000, host: "127.0.0.1", … }
 * ```
 */
export const parseServeArgs = (argv: ReadonlyArray<string>): Effect.Effect<ServeOptions, UsageError> =>
  Effect.gen(function*() {
    const values = yield* parseFlags(argv, {
      help: { type: "boolean", short: "h" },
      port: { type: "string" },
      host: { type: "string" },
      model: { type: "string" },
      "max-batch-size": { type: "string" },
      "max-batch-tokens": { type: "string" },
      "batch-timeout": { type: "string" },
      dispatch: { type: "string" },
      "max-waiting": { type: "string" },
      "max-body-bytes": { type: "string" },
      "drain-timeout": { type: "string" }
    })
    const dispatch = values.dispatch ?? defaults.dispatch
    if (dispatch !== "idle" && dispatch !== "full") {
      return yield* new UsageError({ message: `--dispatch must be idle or full, got "${dispatch}"` })
    }
    const port = yield* withDefault("port", values.port, 0, defaults.port)
    if (port > 65_535) return yield* new UsageError({ message: `--port must be at most 65535, got ${port}` })
    return {
      help: values.help ?? false,
      port,
      host: values.host ?? defaults.host,
      model: values.model,
      maxBatchSize: yield* withDefault("max-batch-size", values["max-batch-size"], 1, defaults.maxBatchSize),
      maxBatchTokens: yield* withDefault("max-batch-tokens", values["max-batch-tokens"], 1, defaults.maxBatchTokens),
      batchTimeoutMs: yield* withDefault("batch-timeout", values["batch-timeout"], 0, defaults.batchTimeoutMs),
      dispatch,
      maxWaiting: yield* integer("max-waiting", values["max-waiting"], 1),
      maxBodyBytes: yield* withDefault("max-body-bytes", values["max-body-bytes"], 1, defaults.maxBodyBytes),
      drainTimeoutMs: yield* withDefault("drain-timeout", values["drain-timeout"], 0, defaults.drainTimeoutMs)
    }
  })
