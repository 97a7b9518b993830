/**
 * The embedding model at run time: an onnxruntime-node session (CPU) behind
 * one function that embeds a batch of tokenized texts. The generated model and
 * a model file given with `--model` take the same path: bytes → `load`.
 */
import { Data, Effect } from "effect"
import type { Scope } from "effect"
import { readFile } from "node:fs/promises"
import * as ort from "onnxruntime-node"
import type { ModelSpec } from "./builder.ts"
import { buildEmbeddingModel, defaultModelSpec } from "./builder.ts"

/** The model could not be read, parsed, or does not take token ids and return embeddings. */
export class ModelLoadError extends Data.TaggedError("ModelLoadError")<{
  readonly message: string
}> {}

/** onnxruntime failed to run a batch. */
export class InferenceError extends Data.TaggedError("InferenceError")<{
  readonly message: string
}> {}

/**
 * A loaded embedding model: `embed` runs one batch of tokenized texts in one
 * call of the engine and returns one embedding per text, in order.
 */
export interface EmbeddingModel {
  /** Where the model came from, for reports: `generated (…)` or the file's path. */
  readonly description: string
  /** The length of every embedding. */
  readonly dimension: number
  /** Embeds `batch` in one engine call; shorter texts are padded with token 0. */
  readonly embed: (batch: ReadonlyArray<Int32Array>) => Effect.Effect<ReadonlyArray<Float32Array>, InferenceError>
}

/** How the engine runs. */
export interface LoadOptions {
  /** Threads for one operator (onnxruntime's `intraOpNumThreads`). Default: 1, one core per model. */
  readonly threads?: number
}

const message = (error: unknown): string => error instanceof Error ? error.message : String(error)

/** The tensor metadata of a session's input or output, or a `ModelLoadError` naming what is wrong. */
const tensorMetadata = (
  kind: "input" | "output",
  metadata: ReadonlyArray<ort.InferenceSession.ValueMetadata>
): Effect.Effect<ort.InferenceSession.TensorValueMetadata, ModelLoadError> => {
  const first = metadata[0]
  return first === undefined || !first.isTensor
    ? Effect.fail(new ModelLoadError({ message: `the model's first ${kind} must be a tensor` }))
    : Effect.succeed(first)
}

/** Checks the model's contract: token ids in (`int32`/`int64` `[batch, sequence]`), embeddings out (`float32 [batch, d]`). */
const checkContract = (session: ort.InferenceSession) =>
  Effect.gen(function*() {
    const input = yield* tensorMetadata("input", session.inputMetadata)
    const output = yield* tensorMetadata("output", session.outputMetadata)
    if (input.type !== "int32" && input.type !== "int64") {
      return yield* new ModelLoadError({
        message: `the model's input "${input.name}" must be int32 or int64 token ids, got ${input.type}`
      })
    }
    const dimension = output.shape[1]
    if (output.type !== "float32" || output.shape.length !== 2 || typeof dimension !== "number") {
      return yield* new ModelLoadError({
        message: `the model's output "${output.name}" must be float32 [batch, d] with a fixed d, got ${output.type} [${
          output.shape.join(", ")
        }]`
      })
    }
    return { input: input.name, inputType: input.type, output: output.name, dimension }
  })

/** The padded `[batch, sequence]` token tensor of `batch`, in the input's element type. */
const tokenTensor = (batch: ReadonlyArray<Int32Array>, type: "int32" | "int64"): ort.Tensor => {
  let sequence = 1
  for (const tokens of batch) sequence = Math.max(sequence, tokens.length)
  const ids = new Int32Array(batch.length * sequence)
  batch.forEach((tokens, row) => ids.set(tokens, row * sequence))
  const dims = [batch.length, sequence]
  return type === "int32"
    ? new ort.Tensor("int32", ids, dims)
    : new ort.Tensor("int64", BigInt64Array.from(ids, BigInt), dims)
}

/**
 * Loads ONNX `bytes` into a CPU session that lives as long as the current
 * scope, after checking that the model takes token ids and returns embeddings.
 *
 * **Example**
 * ```ts
 * const model = yield* load(buildEmbeddingModel(defaultModelSpec), "generated")
 * const [vector] = yield* model.embed([tokenize("hello")])
 * ```
 */
export const load = (
  bytes: Uint8Array,
  description: string,
  options: LoadOptions = {}
): Effect.Effect<EmbeddingModel, ModelLoadError, Scope.Scope> =>
  Effect.gen(function*() {
    const session = yield* Effect.acquireRelease(
      Effect.tryPromise({
        try: () =>
          ort.InferenceSession.create(bytes, {
            executionProviders: ["cpu"],
            intraOpNumThreads: options.threads ?? 1,
            interOpNumThreads: 1
          }),
        catch: (error) =>
          new ModelLoadError({ message: `onnxruntime could not load ${description}: ${message(error)}` })
      }),
      (session) => Effect.promise(() => session.release())
    )
    const contract = yield* checkContract(session)
    const embed = (batch: ReadonlyArray<Int32Array>) =>
      Effect.gen(function*() {
        if (batch.length === 0) return []
        const outputs = yield* Effect.tryPromise({
          try: () => session.run({ [contract.input]: tokenTensor(batch, contract.inputType) }),
          catch: (error) =>
            new InferenceError({ message: `onnxruntime failed on a batch of ${batch.length}: ${message(error)}` })
        })
        const output = outputs[contract.output]
        if (output.type !== "float32" || output.dims[0] !== batch.length || output.dims[1] !== contract.dimension) {
          return yield* new InferenceError({
            message: `expected float32 [${batch.length}, ${contract.dimension}], got ${output.type} [${
              output.dims.join(", ")
            }]`
          })
        }
        const data = output.data as Float32Array
        // A copy per text, so that a kept embedding does not keep its whole batch's buffer alive.
        return batch.map((_, row) => data.slice(row * contract.dimension, (row + 1) * contract.dimension))
      })
    return { description, dimension: contract.dimension, embed }
  })

/**
 * Reads an ONNX file and loads it as `load` does: the `--model` path.
 *
 * **Example**
 * ```ts
 * const model = yield* loadFile("./my-embedder.onnx")
 * ```
 */
export const loadFile = (
  path: string,
  options: LoadOptions = {}
): Effect.Effect<EmbeddingModel, ModelLoadError, Scope.Scope> =>
  Effect.tryPromise({
    try: () => readFile(path),
    catch: (error) => new ModelLoadError({ message: `could not read the model file ${path}: ${message(error)}` })
  }).pipe(Effect.flatMap((bytes) => load(bytes, path, options)))

/**
 * Builds the demo's model from `spec` and loads it.
 *
 * **Example**
 * ```ts
 * const model = yield* generate()
 * model.dimension // 256
 * ```
 */
export const generate = (
  spec: ModelSpec = defaultModelSpec,
  options: LoadOptions = {}
): Effect.Effect<EmbeddingModel, ModelLoadError, Scope.Scope> =>
  Effect.suspend(() =>
    load(
      buildEmbeddingModel(spec),
      `generated (${spec.vocabSize} × ${spec.embeddingDim} token embeddings, MLP ${spec.embeddingDim} → ${spec.hiddenDim} → ${spec.outputDim})`,
      options
    )
  )

/**
 * The model file at `path`, or the generated model when no path is given:
 * what `--model` chooses in the demo and the service.
 *
 * **Example**
 * ```ts
 * const model = yield* open(args.model) // args.model: string | undefined
 * ```
 */
export const open = (
  path: string | undefined,
  options: LoadOptions = {}
): Effect.Effect<EmbeddingModel, ModelLoadError, Scope.Scope> =>
  path === undefined ? generate(defaultModelSpec, options) : loadFile(path, options)

/**
 * The largest absolute difference between two embeddings; `Infinity` when
 * their lengths differ. Batched and unbatched runs agree to float rounding.
 *
 * **Example**
 * ```ts
 * maxAbsDifference(batched, alone) <= EMBEDDING_TOLERANCE
 * ```
 */
export const maxAbsDifference = (a: Float32Array, b: Float32Array): number => {
  if (a.length !== b.length) return Infinity
  let max = 0
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i] - b[i]))
  return max
}

/** How far a batched embedding may be from the same text's unbatched one: float rounding of the sums. */
export const EMBEDDING_TOLERANCE = 1e-5
