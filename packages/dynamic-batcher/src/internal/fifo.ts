import { keepShape } from "./shapes.ts"

/**
 * A first-in first-out buffer over a plain array with a moving head: `push`
 * and `shift` are O(1) amortized and allocate nothing per element, which is
 * what the per-record paths need. Taken slots are cleared at once; the array
 * drops its taken prefix only when items are added (a buffer that is only
 * drained never copies itself) and once that prefix is the larger part.
 */
export class Fifo<A> {
  private items: Array<A> = []
  private head = 0

  get size(): number {
    return this.items.length - this.head
  }

  push(item: A): void {
    this.compact()
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
    this.compact()
    for (let i = from; i < to; i++) this.items.push(items[i])
  }

  private compact(): void {
    if (this.head >= 1024 && this.head * 2 >= this.items.length) {
      this.items = this.items.slice(this.head)
      this.head = 0
    }
  }

  /** The newest item, if any. */
  last(): A | undefined {
    return this.size === 0 ? undefined : this.items[this.items.length - 1]
  }

  /** The oldest item; only call when `size > 0`. */
  peek(): A {
    return this.items[this.head]
  }

  /** The item `index` places after the oldest; only call with `index < size`. */
  at(index: number): A {
    return this.items[this.head + index]
  }

  /** Removes the `count` oldest items and appends them to `target`, or returns them as a new array when `target` is empty. */
  moveTo(target: Array<A>, count: number): Array<A> {
    const { head, items } = this
    const end = head + count
    let moved = target
    if (target.length === 0) {
      moved = items.slice(head, end)
    } else {
      for (let i = head; i < end; i++) target.push(items[i])
    }
    ;(items as Array<A | undefined>).fill(undefined, head, end)
    this.advance(end)
    return moved
  }

  /** Removes and returns the oldest item; only call when `size > 0`. */
  shift(): A {
    const item = this.items[this.head]
    ;(this.items as Array<A | undefined>)[this.head] = undefined
    this.advance(this.head + 1)
    return item
  }

  /** Moves the head to `head`; an emptied buffer starts over with a new array. */
  private advance(head: number): void {
    if (head === this.items.length) {
      this.items = []
      this.head = 0
    } else {
      this.head = head
    }
  }

  /** Removes and returns every item, oldest first. */
  drain(): Array<A> {
    const all = this.items.slice(this.head)
    this.items = []
    this.head = 0
    return all
  }
}

keepShape(new Fifo())
