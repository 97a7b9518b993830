/**
 * The check of every response under load: status 200, and the embedding of
 * the very text that was sent, equal to the model's own run of that text.
 */
import { EmbeddingModel } from "effect-dynamic-batcher-demo/model"

/** Counts correct and wrong responses; keeps the first wrong one to report. */
export class ResponseCheck {
  private readonly reference: ReadonlyArray<Float32Array>
  correct = 0
  wrong = 0
  firstProblem: string | undefined = undefined

  /** `reference[i]`: the embedding of text `i`, run alone. */
  constructor(reference: ReadonlyArray<Float32Array>) {
    this.reference = reference
  }

  /**
   * Checks the response to text `index`.
   *
   * **Example**
   * ```ts
   * check.record(7, 200, '{"embedding":[…]}')
   * ```
   */
  record(index: number, status: number, body: string): void {
    const problem = this.problem(index, status, body)
    if (problem === undefined) {
      this.correct++
    } else {
      this.wrong++
      this.firstProblem ??= `text #${index}: ${problem}`
    }
  }

  private problem(index: number, status: number, body: string): string | undefined {
    if (status !== 200) return `status ${status}: ${body.slice(0, 200)}`
    let embedding: unknown
    try {
      embedding = (JSON.parse(body) as { embedding?: unknown }).embedding
    } catch {
      return `not JSON: ${body.slice(0, 200)}`
    }
    if (!Array.isArray(embedding)) return `no "embedding" array: ${body.slice(0, 200)}`
    const difference = EmbeddingModel.maxAbsDifference(Float32Array.from(embedding), this.reference[index])
    return difference <= EmbeddingModel.EMBEDDING_TOLERANCE
      ? undefined
      : `the embedding differs from the text's own run by ${difference}`
  }
}
