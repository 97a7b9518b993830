/**
 * A cell child: `node --expose-gc src/cell.ts '<JSON array of CellSpec>'`.
 *
 * For each spec, in order: the warm-up runs, then the measured runs, each on
 * a fresh batcher with a full GC before it; then one result line on stdout
 * (`@@bench-result {...}`). `pnpm bench` gives each cell a fresh child; the
 * smoke run gives each peer one child for all its tiny cells.
 *
 * Exits 1 if any cell failed (a crash or a wrong result).
 */
import { peerByName } from "./peers/index.ts"
import type { CellResult, CellSpec, Metrics, SeriesPoint } from "./spec.ts"
import { cellKey, RESULT_PREFIX } from "./spec.ts"
import { summarize } from "./stats.ts"
import { runSteps } from "./steps.ts"
import { runOnce } from "./workloads.ts"

const settle = async (): Promise<void> => {
  await new Promise((resolve) => setTimeout(resolve, 10))
  ;(globalThis as { gc?: () => void }).gc?.()
}

const runCell = async (spec: CellSpec): Promise<CellResult> => {
  const started = performance.now()
  const key = cellKey(spec)
  const peer = peerByName(spec.peer)
  let series: ReadonlyArray<SeriesPoint> | undefined
  const result = (status: CellResult["status"], runs: ReadonlyArray<Metrics>, reason?: string): CellResult => ({
    key,
    spec,
    status,
    reason,
    runs,
    ...summarize(runs),
    series,
    wallMs: performance.now() - started
  })
  const unavailable = await peer.unavailable?.()
  if (unavailable !== undefined) return result("skipped", [], unavailable)
  if (spec.via === "bulk" && !peer.bulk) return result("skipped", [], `${peer.name} has no bulk path`)
  const runs: Array<Metrics> = []
  try {
    for (let i = 0; i < spec.warmup.runs + spec.runs; i++) {
      const warm = i < spec.warmup.runs
      await settle()
      const plan = {
        spec,
        size: warm ? spec.warmup.size ?? spec.size : spec.size,
        durationMs: (warm ? spec.warmup.durationMs : undefined) ?? spec.durationMs ?? 0
      }
      if (spec.workload === "W6") {
        const outcome = await runSteps(peer, plan)
        if (!warm) {
          runs.push(outcome.metrics)
          series = outcome.series
        }
      } else {
        const metrics = await runOnce(peer, plan)
        if (!warm) runs.push(metrics)
      }
    }
  } catch (error) {
    return result("failed", runs, error instanceof Error ? error.stack ?? error.message : String(error))
  }
  return result("ok", runs)
}

/**
 * `BENCH_HEAP_SAMPLING=FILE` (set by `profile --heap`): sample every
 * allocation of the cell, collected ones included, and write the sampling
 * heap profile to FILE.
 */
const heapSampling = async (): Promise<() => Promise<void>> => {
  const file = process.env.BENCH_HEAP_SAMPLING
  if (!file) return async () => {}
  const { Session } = await import("node:inspector/promises")
  const { writeFileSync } = await import("node:fs")
  const session = new Session()
  session.connect()
  await session.post("HeapProfiler.startSampling", {
    samplingInterval: 4096,
    includeObjectsCollectedByMajorGC: true,
    includeObjectsCollectedByMinorGC: true
  })
  return async () => {
    const { profile } = await session.post("HeapProfiler.stopSampling")
    writeFileSync(file, JSON.stringify(profile))
    session.disconnect()
  }
}

const specs = JSON.parse(process.argv[2] ?? "[]") as ReadonlyArray<CellSpec>
const stopSampling = await heapSampling()
let failed = false
for (const spec of specs) {
  const result = await runCell(spec)
  if (result.status === "failed") failed = true
  process.stdout.write(`${RESULT_PREFIX}${JSON.stringify(result)}\n`)
}
await stopSampling()
process.exitCode = failed ? 1 : 0
