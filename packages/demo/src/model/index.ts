/**
 * The embedding model shared by the demo and the HTTP service
 * (`effect-dynamic-batcher-demo/model`): the tokenizer, the model builder and
 * the onnxruntime session.
 *
 * **Example**
 * ```ts
 * import { EmbeddingModel, Tokenizer } from "effect-dynamic-batcher-demo/model"
 *
 * const model = yield* EmbeddingModel.generate()
 * const [vector] = yield* model.embed([Tokenizer.tokenize("hello")])
 * ```
 */
export * as ModelBuilder from "./builder.ts"
export * as EmbeddingModel from "./embedder.ts"
export * as Tokenizer from "./tokenizer.ts"
