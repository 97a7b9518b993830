/**
 * The floors: what ours must reach, each as a ratio between cells of the same
 * run (never against numbers from another run or machine). The bench reports
 * PASS/FAIL per floor; it does not gate on them.
 */
import type { Sizes } from "./plan.ts"
import type { CellResult, Via, WorkloadName } from "./spec.ts"
import { cellKey } from "./spec.ts"

export interface FloorResult {
  readonly floor: string
  readonly measured: string
  readonly required: string
  /** PASS, FAIL, or n/a when a cell it needs did not run. */
  readonly verdict: "PASS" | "FAIL" | "n/a"
  readonly value?: number | undefined
}

const POLICIES = ["ours-full", "ours-idle"] as const

export const evaluateFloors = (results: ReadonlyArray<CellResult>, sizes: Sizes): Array<FloorResult> => {
  const byKey = new Map(results.map((r) => [r.key, r]))
  const metric = (workload: WorkloadName, peer: string, via: Via, size: number, name: string): number | undefined => {
    const cell = byKey.get(cellKey({ workload, peer, via, size }))
    const value = cell?.status === "ok" ? cell.median[name] : undefined
    return typeof value === "number" && Number.isFinite(value) ? value : undefined
  }
  const out: Array<FloorResult> = []
  const check = (
    floor: string,
    value: number | undefined,
    ok: (v: number) => boolean,
    required: string,
    format: (v: number) => string
  ) =>
    out.push(
      value === undefined
        ? { floor, measured: "—", required, verdict: "n/a" }
        : { floor, measured: format(value), required, verdict: ok(value) ? "PASS" : "FAIL", value }
    )
  const ratio = (a: number | undefined, b: number | undefined) =>
    a === undefined || b === undefined || b === 0 ? undefined : a / b
  const x = (v: number) => `${v.toFixed(2)}×`

  /** Ours' submit throughput over a peer's, in the same workload and size. */
  const throughputVersus = (
    workload: WorkloadName,
    size: number,
    ours: string,
    peer: string,
    ok: (v: number) => boolean,
    required: string
  ) =>
    check(
      `${workload} ${ours} / ${peer}`,
      ratio(metric(workload, ours, "submit", size, "recPerSec"), metric(workload, peer, "submit", size, "recPerSec")),
      ok,
      required,
      x
    )
  for (const ours of POLICIES) {
    throughputVersus("W1", sizes.w1, ours, "effect-floor", (v) => v >= 0.9, "≥ 0.90×")
    throughputVersus("W1", sizes.w1, ours, "request-resolver", (v) => v > 1, "> 1.00×")
  }
  for (const ours of POLICIES) {
    throughputVersus("W1s", sizes.w1sProducers, ours, "effect-floor", (v) => v >= 0.75, "≥ 0.75×")
    throughputVersus("W1s", sizes.w1sProducers, ours, "request-resolver", (v) => v >= 2, "≥ 2.00×")
  }
  for (const ours of POLICIES) {
    check(
      `W1b ${ours} offerAll / effect-floor bulk`,
      ratio(
        metric("W1b", ours, "bulk", sizes.w1b, "recPerSec"),
        metric("W1b", "effect-floor", "bulk", sizes.w1b, "recPerSec")
      ),
      (v) => v >= 0.8,
      "≥ 0.80×",
      x
    )
  }
  for (const ours of POLICIES) {
    check(
      `W2 ${ours} throughput / theoretical`,
      metric("W2", ours, "submit", sizes.w2Producers, "fraction"),
      (v) => v >= 0.985,
      "≥ 98.5%",
      (v) => `${(v * 100).toFixed(1)}%`
    )
  }
  const ms = (v: number) => `${v.toFixed(2)} ms`
  check(
    "W3 ours-full p50",
    metric("W3", "ours-full", "submit", sizes.w3Submits, "p50Ms"),
    (v) => v <= 11,
    "≤ 11 ms (window + 1)",
    ms
  )
  check(
    "W3 ours-idle p50",
    metric("W3", "ours-idle", "submit", sizes.w3Submits, "p50Ms"),
    (v) => v <= 0.2,
    "≤ 0.20 ms",
    ms
  )
  for (const ours of POLICIES) {
    check(
      `W4 ${ours} submit / effect-floor submit (bytes/rec)`,
      ratio(
        metric("W4", ours, "submit", sizes.w4, "bytesPerRec"),
        metric("W4", "effect-floor", "submit", sizes.w4, "bytesPerRec")
      ),
      (v) => v <= 1.1,
      "≤ 1.10×",
      x
    )
    check(
      `W4 ${ours} offerAll / effect-floor bulk (bytes/rec)`,
      ratio(
        metric("W4", ours, "bulk", sizes.w4, "bytesPerRec"),
        metric("W4", "effect-floor", "bulk", sizes.w4, "bytesPerRec")
      ),
      (v) => v <= 1.5,
      "≤ 1.50×",
      x
    )
  }
  const small = sizes.w5[0]
  const large = sizes.w5[sizes.w5.length - 1]
  const scale = (workload: WorkloadName, via: Via, name: string) =>
    ratio(metric(workload, "ours-full", via, large, name), metric(workload, "ours-full", via, small, name))
  const w5 = `${large.toLocaleString("en-US")} vs ${small.toLocaleString("en-US")}`
  check(`W5 ours-full W1b ns/rec, ${w5}`, scale("W1b", "bulk", "nsPerRec"), (v) => v <= 1.3, "≤ 1.30×", x)
  check(`W5 ours-full W4 submit bytes/rec, ${w5}`, scale("W4", "submit", "bytesPerRec"), (v) => v <= 1.3, "≤ 1.30×", x)
  check(`W5 ours-full W4 offerAll bytes/rec, ${w5}`, scale("W4", "bulk", "bytesPerRec"), (v) => v <= 1.3, "≤ 1.30×", x)
  check(
    "W1 ours-promise / promise-min",
    ratio(
      metric("W1", "ours-promise", "submit", sizes.w1, "recPerSec"),
      metric("W1", "promise-min", "submit", sizes.w1, "recPerSec")
    ),
    (v) => v >= 0.5,
    "≥ 0.50×",
    x
  )
  return out
}
