/**
 * A binary min-heap ordered by a number per item: the record deadlines and the
 * batch timeouts behind the batcher's one timer, and the keyed batches ready
 * for a slot, oldest first. Items that became moot stay in it until they reach
 * the top, where their owner skips them (lazy deletion): removing one from the
 * middle would need its position, kept on every item.
 */
import { keepShape } from "./shapes.ts"

export class Heap<A> {
  private readonly items: Array<A> = []
  private readonly ranks: Array<number> = []

  get size(): number {
    return this.items.length
  }

  /** The rank of the smallest item; only call when `size > 0`. */
  peekRank(): number {
    return this.ranks[0]
  }

  /** The smallest item; only call when `size > 0`. */
  peek(): A {
    return this.items[0]
  }

  push(item: A, rank: number): void {
    const { items, ranks } = this
    let index = items.length
    items.push(item)
    ranks.push(rank)
    while (index > 0) {
      const parent = (index - 1) >> 1
      if (ranks[parent] <= rank) break
      items[index] = items[parent]
      ranks[index] = ranks[parent]
      index = parent
    }
    items[index] = item
    ranks[index] = rank
  }

  /** Removes and returns the smallest item; only call when `size > 0`. */
  pop(): A {
    const { items, ranks } = this
    const top = items[0]
    const lastItem = items.pop()!
    const lastRank = ranks.pop()!
    const size = items.length
    if (size > 0) {
      let index = 0
      for (;;) {
        const left = 2 * index + 1
        if (left >= size) break
        const right = left + 1
        const child = right < size && ranks[right] < ranks[left] ? right : left
        if (ranks[child] >= lastRank) break
        items[index] = items[child]
        ranks[index] = ranks[child]
        index = child
      }
      items[index] = lastItem
      ranks[index] = lastRank
    }
    return top
  }

  /** Keeps only the items `keep` accepts (rebuilding the heap): for owners whose moot items pile up. */
  retain(keep: (item: A) => boolean): void {
    const items = this.items.splice(0)
    const ranks = this.ranks.splice(0)
    for (let i = 0; i < items.length; i++) {
      if (keep(items[i])) this.push(items[i], ranks[i])
    }
  }

  /** Removes every item. */
  clear(): void {
    this.items.length = 0
    this.ranks.length = 0
  }
}

keepShape(new Heap())
