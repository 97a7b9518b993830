import { keepShape } from "./shapes.ts"

/** Items per chunk, a power of two: a chunk of references stays an ordinary object, never a large one. */
const chunkBits = 10
const chunkSize = 1 << chunkBits
const chunkMask = chunkSize - 1

/**
 * A first-in first-out buffer: `push` and `shift` are O(1) and allocate
 * nothing per element, which is what the per-record paths need.
 *
 * The items are kept in chunks of `chunkSize`, not in one array: a queue of
 * 200,000 records would otherwise be one array of 1.6 MB, copied each time it
 * grows, living outside the young generation, with every record pushed into
 * it noted for the garbage collector's next scavenge. Every chunk but the
 * last is full, and only the first starts later (at `head`), so the item
 * `index` places after the oldest is found by arithmetic. Taken slots are
 * cleared at once; a chunk is dropped once all of its items are taken.
 */
export class Fifo<A> {
  private chunks: Array<Array<A>> = []
  /** Where the oldest item is in the first chunk. */
  private head = 0
  private count = 0

  get size(): number {
    return this.count
  }

  push(item: A): void {
    const chunks = this.chunks
    const last = chunks.length === 0 ? undefined : chunks[chunks.length - 1]
    if (last === undefined || last.length === chunkSize) chunks.push([item])
    else last.push(item)
    this.count++
  }

  /** Appends `items[from..to)`: whole chunks are copied in one step each. */
  pushAll(items: ReadonlyArray<A>, from: number, to: number): void {
    let next = from
    const chunks = this.chunks
    if (chunks.length > 0) {
      const last = chunks[chunks.length - 1]
      while (last.length < chunkSize && next < to) last.push(items[next++])
    }
    while (next < to) {
      const end = Math.min(to, next + chunkSize)
      chunks.push(items.slice(next, end))
      next = end
    }
    this.count += to - from
  }

  /** The newest item, if any. */
  last(): A | undefined {
    if (this.count === 0) return undefined
    const last = this.chunks[this.chunks.length - 1]
    return last[last.length - 1]
  }

  /** The oldest item; only call when `size > 0`. */
  peek(): A {
    return this.chunks[0][this.head]
  }

  /** The item `index` places after the oldest; only call with `index < size`. */
  at(index: number): A {
    const position = this.head + index
    return this.chunks[position >> chunkBits][position & chunkMask]
  }

  /** Removes the `count` oldest items and appends them to `target`, or returns them as a new array when `target` is empty. */
  moveTo(target: Array<A>, count: number): Array<A> {
    let moved = target
    for (let remaining = count; remaining > 0;) {
      const chunk = this.chunks[0]
      const start = this.head
      const end = Math.min(chunk.length, start + remaining)
      if (moved.length === 0) {
        moved = chunk.slice(start, end)
      } else {
        for (let i = start; i < end; i++) moved.push(chunk[i])
      }
      ;(chunk as Array<A | undefined>).fill(undefined, start, end)
      remaining -= end - start
      this.taken(end)
    }
    return moved
  }

  /** Removes and returns the oldest item; only call when `size > 0`. */
  shift(): A {
    const chunk = this.chunks[0]
    const item = chunk[this.head]
    ;(chunk as Array<A | undefined>)[this.head] = undefined
    this.taken(this.head + 1)
    return item
  }

  /** The first chunk's items before `head` were taken: drops the chunk once it is used up. */
  private taken(head: number): void {
    this.count -= head - this.head
    if (this.count === 0) {
      this.chunks = []
      this.head = 0
    } else if (head === chunkSize) {
      this.chunks.shift()
      this.head = 0
    } else {
      this.head = head
    }
  }

  /** Removes and returns every item, oldest first. */
  drain(): Array<A> {
    const all: Array<A> = []
    const chunks = this.chunks
    for (let c = 0; c < chunks.length; c++) {
      const chunk = chunks[c]
      for (let i = c === 0 ? this.head : 0; i < chunk.length; i++) all.push(chunk[i])
    }
    this.chunks = []
    this.head = 0
    this.count = 0
    return all
  }
}

keepShape(new Fifo())
