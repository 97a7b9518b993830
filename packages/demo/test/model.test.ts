import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import onnxProto from "onnx-proto"
import type { ModelSpec } from "../src/model/builder.ts"
import { buildEmbeddingModel, INPUT_NAME, OUTPUT_NAME } from "../src/model/builder.ts"
import { EMBEDDING_TOLERANCE, load, maxAbsDifference } from "../src/model/embedder.ts"
import { MAX_TOKENS, START_ID, tokenize, VOCAB_SIZE } from "../src/model/tokenizer.ts"

const { onnx } = onnxProto

/** A small model, so that the tests build and load it quickly. */
const small: ModelSpec = { vocabSize: VOCAB_SIZE, embeddingDim: 16, hiddenDim: 32, outputDim: 8, seed: 7 }

const norm = (v: Float32Array) => Math.hypot(...v)

/** An ONNX model that passes its float input through: it does not take token ids. */
const identityModel = (): Uint8Array =>
  onnx.ModelProto.encode(onnx.ModelProto.create({
    irVersion: 8,
    opsetImport: [{ domain: "", version: 17 }],
    graph: {
      name: "identity",
      input: [{
        name: "x",
        type: { tensorType: { elemType: onnx.TensorProto.DataType.FLOAT, shape: { dim: [{ dimValue: 2 }] } } }
      }],
      output: [{
        name: "y",
        type: { tensorType: { elemType: onnx.TensorProto.DataType.FLOAT, shape: { dim: [{ dimValue: 2 }] } } }
      }],
      node: [{ opType: "Identity", input: ["x"], output: ["y"] }]
    }
  })).finish()

describe("tokenizer", () => {
  it("starts every text with the start id, hashes words case-insensitively into the vocabulary", () => {
    assert.deepStrictEqual([...tokenize("")], [START_ID])
    const ids = tokenize("Hello, hello WORLD 42")
    assert.strictEqual(ids.length, 5)
    assert.strictEqual(ids[1], ids[2])
    for (const id of ids.subarray(1)) assert.isTrue(id >= 2 && id < VOCAB_SIZE)
    assert.strictEqual(tokenize("word ".repeat(1000)).length, MAX_TOKENS)
  })
})

describe("model builder", () => {
  it("builds the same bytes every time, a graph from token ids to embeddings", () => {
    const bytes = buildEmbeddingModel(small)
    assert.deepStrictEqual(buildEmbeddingModel(small), bytes)
    assert.notDeepEqual(buildEmbeddingModel({ ...small, seed: 8 }), bytes)
    const model = onnx.ModelProto.decode(bytes)
    assert.strictEqual(model.graph?.input?.[0].name, INPUT_NAME)
    assert.strictEqual(model.graph?.output?.[0].name, OUTPUT_NAME)
    assert.deepStrictEqual(model.graph?.node?.map((node) => node.opType), [
      "Gather",
      "ReduceSum",
      "LpNormalization",
      "Gemm",
      "Relu",
      "Gemm",
      "LpNormalization"
    ])
  })

  it.effect("runs on onnxruntime: unit-length embeddings, deterministic, unchanged by padding", () =>
    Effect.gen(function*() {
      const model = yield* load(buildEmbeddingModel(small), "small")
      assert.strictEqual(model.dimension, 8)
      const short = tokenize("a short text")
      const long = tokenize("a much longer text that forces the short one to be padded in its batch")
      const [alone] = yield* model.embed([short])
      const [inBatch, longInBatch] = yield* model.embed([short, long])
      assert.strictEqual(alone.length, 8)
      assert.approximately(norm(alone), 1, 1e-5)
      assert.isAtMost(maxAbsDifference(alone, inBatch), EMBEDDING_TOLERANCE)
      assert.isAbove(maxAbsDifference(inBatch, longInBatch), 0.01)
      const [again] = yield* model.embed([short])
      assert.deepStrictEqual(again, alone)
      assert.deepStrictEqual(yield* model.embed([]), [])
    }))

  it.effect("a model that takes int64 token ids, as exported models often do, gives the same embeddings", () =>
    Effect.gen(function*() {
      const int32 = yield* load(buildEmbeddingModel(small), "int32")
      const int64 = yield* load(buildEmbeddingModel({ ...small, tokenType: "int64" }), "int64")
      const batch = [tokenize("same text"), tokenize("and another, longer one")]
      const [a, b] = yield* int32.embed(batch)
      const [c, d] = yield* int64.embed(batch)
      assert.deepStrictEqual([c, d], [a, b])
    }))

  it.effect("loading fails with a ModelLoadError for bytes that are no model, or a model of another contract", () =>
    Effect.gen(function*() {
      const garbage = yield* Effect.flip(load(new Uint8Array([1, 2, 3, 4]), "garbage"))
      assert.strictEqual(garbage._tag, "ModelLoadError")
      assert.include(garbage.message, "garbage")
      const identity = yield* Effect.flip(load(identityModel(), "identity"))
      assert.strictEqual(identity._tag, "ModelLoadError")
      assert.include(identity.message, "int32 or int64 token ids")
    }))
})
