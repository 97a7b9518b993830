/**
 * Builds the demo's embedding model as an ONNX file in memory: embeddings of
 * hashed tokens, summed over the text, normalized, then a two-layer MLP and a
 * final L2 normalization. The weights come from a seeded generator, so every
 * build is byte for byte the same and the outputs can be checked.
 */
import type { onnx as Onnx } from "onnx-proto"
import onnxProto from "onnx-proto"
import { seededRandom } from "../random.ts"
import { VOCAB_SIZE } from "./tokenizer.ts"

const { onnx } = onnxProto

/** The sizes and seed of a generated model. */
export interface ModelSpec {
  /** Token ids the model accepts: the tokenizer's `VOCAB_SIZE`. */
  readonly vocabSize: number
  /** The width of a token's embedding. */
  readonly embeddingDim: number
  /** The width of the MLP's hidden layer. */
  readonly hiddenDim: number
  /** The width of the output embedding. */
  readonly outputDim: number
  readonly seed: number
  /** The element type of the token ids; exported models often take `int64`. Default: `int32`. */
  readonly tokenType?: "int32" | "int64"
}

/**
 * The demo's model: 8,192 × 256 token embeddings, then a 256 → 1024 → 256
 * MLP: about 2.6 M parameters, a 10 MB ONNX file.
 */
export const defaultModelSpec: ModelSpec = {
  vocabSize: VOCAB_SIZE,
  embeddingDim: 256,
  hiddenDim: 1024,
  outputDim: 256,
  seed: 0xe5bed
}

/** The model's input: token ids, `int32` (or `int64`) `[batch, sequence]`, padded with 0. */
export const INPUT_NAME = "tokens"
/** The model's output: one L2-normalized embedding per text, `float32 [batch, outputDim]`. */
export const OUTPUT_NAME = "embedding"

const FLOAT = onnx.TensorProto.DataType.FLOAT
const INT = onnx.AttributeProto.AttributeType.INT

/** `count` weights uniform in `[-scale, scale)`. */
const uniform = (random: () => number, count: number, scale: number): Float32Array => {
  const values = new Float32Array(count)
  for (let i = 0; i < count; i++) values[i] = (random() * 2 - 1) * scale
  return values
}

const floatTensor = (name: string, dims: ReadonlyArray<number>, values: Float32Array): Onnx.ITensorProto => ({
  name,
  dims: [...dims],
  dataType: FLOAT,
  // ONNX raw data is little-endian, as are the machines onnxruntime-node runs on.
  rawData: new Uint8Array(values.buffer, values.byteOffset, values.byteLength)
})

const intAttribute = (name: string, i: number): Onnx.IAttributeProto => ({ name, type: INT, i })

const tensorType = (elemType: number, dims: ReadonlyArray<string | number>): Onnx.ITypeProto => ({
  tensorType: {
    elemType,
    shape: { dim: dims.map((d) => typeof d === "string" ? { dimParam: d } : { dimValue: d }) }
  }
})

/**
 * The ONNX bytes of the embedding model described by `spec` (opset 17).
 * Load them with `EmbeddingModel.load`, or write them to a file for `--model`.
 *
 * **Example**
 * ```ts
 * const bytes = buildEmbeddingModel(defaultModelSpec)
 * fs.writeFileSync("embedder.onnx", bytes)
 * ```
 */
export const buildEmbeddingModel = (spec: ModelSpec): Uint8Array => {
  const random = seededRandom(spec.seed)
  const table = uniform(random, spec.vocabSize * spec.embeddingDim, 1)
  // The padding token embeds to zero, so padding a text does not change its sum.
  table.fill(0, 0, spec.embeddingDim)
  const glorot = (fanIn: number, fanOut: number) => Math.sqrt(6 / (fanIn + fanOut))
  const graph: Onnx.IGraphProto = {
    name: "hashed-token-embedder",
    input: [{
      name: INPUT_NAME,
      type: tensorType(
        spec.tokenType === "int64" ? onnx.TensorProto.DataType.INT64 : onnx.TensorProto.DataType.INT32,
        ["batch", "sequence"]
      )
    }],
    output: [{ name: OUTPUT_NAME, type: tensorType(FLOAT, ["batch", spec.outputDim]) }],
    initializer: [
      floatTensor("token_embeddings", [spec.vocabSize, spec.embeddingDim], table),
      { name: "sequence_axis", dims: [1], dataType: onnx.TensorProto.DataType.INT64, int64Data: [1] },
      floatTensor(
        "w1",
        [spec.embeddingDim, spec.hiddenDim],
        uniform(random, spec.embeddingDim * spec.hiddenDim, glorot(spec.embeddingDim, spec.hiddenDim))
      ),
      floatTensor("b1", [spec.hiddenDim], uniform(random, spec.hiddenDim, 0.1)),
      floatTensor(
        "w2",
        [spec.hiddenDim, spec.outputDim],
        uniform(random, spec.hiddenDim * spec.outputDim, glorot(spec.hiddenDim, spec.outputDim))
      ),
      floatTensor("b2", [spec.outputDim], uniform(random, spec.outputDim, 0.1))
    ],
    node: [
      {
        opType: "Gather",
        input: ["token_embeddings", INPUT_NAME],
        output: ["embedded"],
        attribute: [intAttribute("axis", 0)]
      },
      {
        opType: "ReduceSum",
        input: ["embedded", "sequence_axis"],
        output: ["pooled"],
        attribute: [intAttribute("keepdims", 0)]
      },
      {
        opType: "LpNormalization",
        input: ["pooled"],
        output: ["normalized"],
        attribute: [intAttribute("axis", -1), intAttribute("p", 2)]
      },
      { opType: "Gemm", input: ["normalized", "w1", "b1"], output: ["hidden"] },
      { opType: "Relu", input: ["hidden"], output: ["activated"] },
      { opType: "Gemm", input: ["activated", "w2", "b2"], output: ["projected"] },
      {
        opType: "LpNormalization",
        input: ["projected"],
        output: [OUTPUT_NAME],
        attribute: [intAttribute("axis", -1), intAttribute("p", 2)]
      }
    ]
  }
  return onnx.ModelProto.encode(onnx.ModelProto.create({
    irVersion: 8,
    opsetImport: [{ domain: "", version: 17 }],
    producerName: "effect-dynamic-batcher-demo",
    docString: "Hashed-token text embedder with deterministic weights, built by the effect-dynamic-batcher demo.",
    graph
  })).finish()
}
