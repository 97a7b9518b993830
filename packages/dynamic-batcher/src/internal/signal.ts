/**
 * A wake-up for one fiber that parks between steps: `notify` resumes it if it
 * is parked (inline, as Effect resumes callbacks), or makes its next `wait`
 * return at once, so a notification between a step and the park is never lost.
 */
import { Effect } from "effect"
import { keepShape } from "./shapes.ts"

export class Signal {
  private waiter: ((effect: Effect.Effect<void>) => void) | undefined = undefined
  private pending = false

  /** Wakes the parked fiber (inline: returns true once it parked again or ended), or the next `wait`. */
  notify(): boolean {
    const waiter = this.waiter
    if (waiter === undefined) {
      this.pending = true
      return false
    }
    this.waiter = undefined
    waiter(Effect.void)
    return true
  }

  /** Whether the next `wait` returns at once. */
  get isPending(): boolean {
    return this.pending
  }

  /** Forgets a notification that the step about to run makes moot. */
  clear(): void {
    this.pending = false
  }

  /** Parks until `notify`, or returns at once if it was notified since the last `wait` or `clear`. */
  readonly wait: Effect.Effect<void> = Effect.callback<void>((resume) => {
    if (this.pending) {
      this.pending = false
      return resume(Effect.void)
    }
    this.waiter = resume
    return this.forgetWaiter
  })

  /** The cleanup of an interrupted `wait`: one fiber waits on a signal, so the waiter is that one. */
  private readonly forgetWaiter: Effect.Effect<void> = Effect.sync(() => {
    this.waiter = undefined
  })
}

keepShape(new Signal())
