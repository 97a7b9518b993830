/**
 * The check of the inference part: every batched embedding against the same
 * text's embedding from a run of its own.
 */
import { EMBEDDING_TOLERANCE, maxAbsDifference } from "../model/embedder.ts"

/** How the batched embeddings compare with the reference. */
export interface Comparison {
  /** Embeddings within `EMBEDDING_TOLERANCE` of their reference. */
  readonly matched: number
  /** The largest difference seen; `Infinity` when an embedding is missing or of another length. */
  readonly maxDifference: number
}

/**
 * Compares `batched[i]` with `reference[i]` for every `i` of `reference`; a
 * missing batched embedding counts as a mismatch.
 *
 * **Example**
 * ```ts
 * const { matched } = compareEmbeddings(batched, reference)
 * matched === reference.length // every text got its own embedding back
 * ```
 */
export const compareEmbeddings = (
  batched: ReadonlyArray<Float32Array | undefined>,
  reference: ReadonlyArray<Float32Array>
): Comparison => {
  let matched = 0
  let maxDifference = 0
  reference.forEach((expected, i) => {
    const embedding = batched[i]
    const difference = embedding === undefined ? Infinity : maxAbsDifference(embedding, expected)
    if (difference <= EMBEDDING_TOLERANCE) matched++
    maxDifference = Math.max(maxDifference, difference)
  })
  return { matched, maxDifference }
}
