/**
 * A first-in first-out buffer over a plain array with a moving head: `push`
 * and `shift` are O(1) amortized and allocate nothing per element, which is
 * what the per-record paths need.
 */
export class Fifo<A> {
  private items: Array<A> = []
  private head = 0

  get size(): number {
    return this.items.length - this.head
  }

  push(item: A): void {
    this.items.push(item)
  }

  /**
   * Appends `items[from..to)`. Into an empty buffer they are copied in one
   * step, to an array of their exact size: growing a large array push by push
   * copies it several times, and every copy of references to young objects
   * costs the garbage collector again.
   */
  pushAll(items: ReadonlyArray<A>, from: number, to: number): void {
    if (this.size === 0) {
      this.items = items.slice(from, to)
      this.head = 0
      return
    }
    for (let i = from; i < to; i++) this.items.push(items[i])
  }

  /** The oldest item; only call when `size > 0`. */
  peek(): A {
    return this.items[this.head]
  }

  /** Removes and returns the oldest item; only call when `size > 0`. */
  shift(): A {
    const item = this.items[this.head]
    ;(this.items as Array<A | undefined>)[this.head] = undefined
    this.head++
    if (this.head === this.items.length) {
      this.items = []
      this.head = 0
    } else if (this.head >= 1024 && this.head * 2 >= this.items.length) {
      this.items = this.items.slice(this.head)
      this.head = 0
    }
    return item
  }

  /** Removes and returns every item, oldest first. */
  drain(): Array<A> {
    const all = this.items.slice(this.head)
    this.items = []
    this.head = 0
    return all
  }
}
