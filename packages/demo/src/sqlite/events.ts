/**
 * The rows of the SQLite part: small events, each written by one producer.
 */

/** One event: which producer wrote it, its sequence number there, and a JSON payload. */
export interface Event {
  readonly producer: number
  readonly seq: number
  readonly payload: string
}

const KINDS = ["view", "click", "scroll", "purchase"] as const

/**
 * The event at `index` when `producers` producers share the work round-robin:
 * producer `index % producers` writes it as its `⌊index / producers⌋`-th event.
 */
export const eventAt = (index: number, producers: number): Event => {
  const producer = index % producers
  const seq = Math.floor(index / producers)
  const payload = JSON.stringify({ kind: KINDS[index % KINDS.length], page: `/items/${index % 977}`, index })
  return { producer, seq, payload }
}
