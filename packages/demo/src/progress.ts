/**
 * Live progress while a part of the demo runs: a bar redrawn in place on a
 * terminal, a plain line every second otherwise (logs, CI), or nothing.
 */
import { Clock, Effect, Fiber } from "effect"
import { formatCount, formatRate } from "./format.ts"

/** How progress is shown: `"bar"` on a terminal, `"lines"` in a log, `"off"` not at all. */
export type ProgressMode = "bar" | "lines" | "off"

/** `"bar"` when `stream` is a terminal, `"lines"` otherwise. */
export const progressModeFor = (stream: { readonly isTTY?: boolean }): ProgressMode =>
  stream.isTTY === true ? "bar" : "lines"

/** A reading of the tracked work: how many units are done, and a short detail shown after them. */
export interface ProgressReading {
  readonly done: number
  readonly detail: string
}

/** The work a progress display tracks. */
export interface ProgressTracker {
  /** Names the work, at the start of every line: `inference`. */
  readonly label: string
  /** What is counted: `prompts`. */
  readonly unit: string
  readonly total: number
  readonly read: Effect.Effect<ProgressReading>
}

const BAR_WIDTH = 24
const BAR_REDRAW_MILLIS = 100
const LINE_EVERY_MILLIS = 1000

const render = (tracker: ProgressTracker, reading: ProgressReading, elapsedMs: number, withBar: boolean): string => {
  const fraction = tracker.total === 0 ? 1 : Math.min(1, reading.done / tracker.total)
  const filled = Math.round(fraction * BAR_WIDTH)
  const bar = withBar ? ` ${"█".repeat(filled)}${"░".repeat(BAR_WIDTH - filled)}` : ""
  const percent = `${Math.floor(fraction * 100)}%`.padStart(4)
  const count = `${formatCount(reading.done)}/${formatCount(tracker.total)} ${tracker.unit}`
  return `  ${tracker.label}${bar} ${percent}  ${count}  ${
    formatRate(reading.done, elapsedMs, tracker.unit)
  }  ${reading.detail}`
}

/**
 * Runs `effect` while showing the progress of `tracker` in `mode`, and shows
 * its last reading once `effect` ends, however it ends.
 */
export const withProgress = (mode: ProgressMode, tracker: ProgressTracker) =>
<A, E, R>(
  effect: Effect.Effect<A, E, R>
): Effect.Effect<A, E, R> => {
  if (mode === "off") return effect
  const withBar = mode === "bar"
  return Effect.gen(function*() {
    const start = yield* Clock.currentTimeMillis
    const show = (last: boolean) =>
      Effect.gen(function*() {
        const reading = yield* tracker.read
        const line = render(tracker, reading, (yield* Clock.currentTimeMillis) - start, withBar)
        process.stdout.write(withBar ? `\r${line}\x1b[K${last ? "\n" : ""}` : `${line}\n`)
      })
    const display = yield* Effect.forkChild(
      Effect.forever(Effect.andThen(Effect.sleep(withBar ? BAR_REDRAW_MILLIS : LINE_EVERY_MILLIS), show(false)))
    )
    return yield* Effect.ensuring(effect, Effect.andThen(Fiber.interrupt(display), show(true)))
  })
}
