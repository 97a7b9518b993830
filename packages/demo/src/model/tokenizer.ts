/**
 * The hashed-token tokenizer in front of the embedding model: words are hashed
 * into a fixed vocabulary, so no vocabulary file is needed.
 *
 * Ids: `0` pads a batch's shorter texts, `1` starts every text (so an empty
 * text still has one token), words take `2 … VOCAB_SIZE - 1`.
 */

/** The number of token ids; a model run by the demo must accept ids below it. */
export const VOCAB_SIZE = 8192

/** The id that pads shorter texts in a batch; the model must ignore it. */
export const PADDING_ID = 0

/** The id that starts every text. */
export const START_ID = 1

/** The most tokens of one text, its start token included; later words are cut off. */
export const MAX_TOKENS = 128

const WORD = /[\p{L}\p{N}]+/gu

/** FNV-1a, 32 bits, over the UTF-16 code units of `word`. */
const hashWord = (word: string): number => {
  let hash = 0x811c9dc5
  for (let i = 0; i < word.length; i++) {
    hash ^= word.charCodeAt(i)
    hash = Math.imul(hash, 0x01000193)
  }
  return hash >>> 0
}

/**
 * The token ids of `text`: the start id, then one id per word (letters and
 * digits, lower-cased), at most `MAX_TOKENS` in all.
 *
 * **Example**
 * ```ts
 * tokenize("Hello, world") // Int32Array [1, id("hello"), id("world")]
 * ```
 */
export const tokenize = (text: string): Int32Array => {
  const ids = [START_ID]
  for (const match of text.toLowerCase().matchAll(WORD)) {
    if (ids.length === MAX_TOKENS) break
    ids.push(2 + (hashWord(match[0]) % (VOCAB_SIZE - 2)))
  }
  return Int32Array.from(ids)
}
