/**
 * The floors: what ours must reach, each as a ratio between cells of the same
 * run (never against numbers from another run or machine), all with the
 * asynchronous `process` every peer shares (the `sync` rows have no floors).
 * The bench reports PASS/FAIL per floor; it does not gate on them.
 *
 * Issue #13's floors come first; then those of issue #4 that #13 does not
 * replace (against `RequestResolver`, W3 with "full", W5's scaling).
 */
import { ADAPTIVE_TARGET_MS } from "./peers/ours.ts"
import type { Sizes } from "./plan.ts"
import type { CellResult, Via, WorkloadName } from "./spec.ts"
import { cellKey } from "./spec.ts"
import { W6_PHASES } from "./steps.ts"

export interface FloorResult {
  readonly floor: string
  readonly measured: string
  readonly required: string
  /** PASS, FAIL, or n/a when a cell it needs did not run. */
  readonly verdict: "PASS" | "FAIL" | "n/a"
  readonly value?: number | undefined
}

/** Ours, one batch at a time (the default `maxConcurrentBatches: 1`), per dispatch policy. */
const SERIAL = ["ours-full", "ours-idle"] as const
/** Ours with `maxConcurrentBatches: 2`, per dispatch policy. */
const CONCURRENT = ["ours-full-c2", "ours-idle-c2"] as const

export const evaluateFloors = (results: ReadonlyArray<CellResult>, sizes: Sizes): Array<FloorResult> => {
  const byKey = new Map(results.map((r) => [r.key, r]))
  const metric = (workload: WorkloadName, peer: string, via: Via, size: number, name: string): number | undefined => {
    const cell = byKey.get(cellKey({ workload, peer, via, size, process: "async" }))
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
  const ms = (v: number) => `${v.toFixed(2)} ms`
  const atLeast = (min: number) => [(v: number) => v >= min, `≥ ${min.toFixed(2)}×`] as const
  const atMost = (max: number) => [(v: number) => v <= max, `≤ ${max.toFixed(2)}×`] as const

  const sizeOf = (workload: WorkloadName): number => {
    switch (workload) {
      case "W1":
        return sizes.w1
      case "W1s":
        return sizes.w1sProducers
      case "W1b":
        return sizes.w1b
      case "W2":
        return sizes.w2Producers
      case "W3":
        return sizes.w3Submits
      case "W4":
        return sizes.w4
      case "W6":
        return sizes.w6PhaseMs
    }
  }
  /** `a`'s metric over `b`'s, in the same workload (and path, unless `viaB` differs). */
  const versus = (
    workload: WorkloadName,
    name: string,
    a: string,
    b: string,
    [ok, required]: readonly [(v: number) => boolean, string],
    via: Via = "submit",
    label = `${workload} ${a} / ${b}`
  ) => {
    const size = sizeOf(workload)
    check(label, ratio(metric(workload, a, via, size, name), metric(workload, b, via, size, name)), ok, required, x)
  }

  // Issue #13: throughput against the Effect floor given the same process.
  for (const workload of ["W1", "W1s"] as const) {
    for (const ours of [...SERIAL, ...CONCURRENT]) versus(workload, "recPerSec", ours, "effect-floor", atLeast(1))
  }
  for (const ours of [...SERIAL, ...CONCURRENT]) {
    versus("W1b", "recPerSec", ours, "effect-floor", atLeast(1), "bulk", `W1b ${ours} offerAll / effect-floor bulk`)
  }
  // Two batches in flight can keep the device fed the way the peers that overlap batches do.
  for (const ours of CONCURRENT) {
    check(
      `W2 ${ours} throughput / theoretical`,
      metric("W2", ours, "submit", sizes.w2Producers, "fraction"),
      (v) => v >= 0.985,
      "≥ 98.5%",
      (v) => `${(v * 100).toFixed(1)}%`
    )
  }
  // One batch at a time cannot overlap batches on the device: it is judged against the bare serial loop.
  for (const ours of SERIAL) {
    versus("W2", "fraction", ours, "serial-loop", atLeast(0.99), "submit", `W2 ${ours} share / serial-loop's`)
  }
  check(
    "W3 ours-idle p50",
    metric("W3", "ours-idle", "submit", sizes.w3Submits, "p50Ms"),
    (v) => v <= 0.2,
    "≤ 0.20 ms",
    ms
  )
  for (const ours of SERIAL) {
    for (const [via, path, floorPath] of [["submit", "submit", "submit"], ["bulk", "offerAll", "bulk"]] as const) {
      const label = `W4 ${ours} ${path} / effect-floor ${floorPath} (bytes/rec)`
      versus("W4", "bytesPerRec", ours, "effect-floor", atMost(1), via, label)
    }
  }
  versus("W1", "recPerSec", "ours-promise", "promise-min", atLeast(0.6))
  versus("W1s", "recPerSec", "ours-promise", "promise-min", atLeast(0.6))
  versus(
    "W2",
    "fraction",
    "ours-promise",
    "serial-loop",
    atLeast(0.99),
    "submit",
    "W2 ours-promise share / serial-loop's"
  )
  versus(
    "W1s",
    "recPerSec",
    "ours-keyed",
    "ours-full",
    atLeast(0.8),
    "submit",
    "W1s ours-keyed (10,000 keys) / ours-full"
  )
  versus(
    "W1s",
    "recPerSec",
    "ours-prio-deadline",
    "ours-full",
    atLeast(0.9),
    "submit",
    "W1s ours-prio-deadline / ours-full (priorities and deadlines cost ≤ 10%)"
  )

  // Adaptive batching: within 10% of the best fixed setting's throughput in
  // every phase, and within the target wherever some fixed setting is.
  for (const suffix of ["", "-idle"]) {
    const adaptive = `ours-adaptive${suffix}`
    const fixed = ["small", "right", "large"].map((setting) => `ours-fixed-${setting}${suffix}`)
    const w6 = (peer: string, name: string) => metric("W6", peer, "submit", sizes.w6PhaseMs, name)
    for (const { name: phase } of W6_PHASES) {
      const throughputs = fixed.map((peer) => w6(peer, `${phase}.recPerSec`))
      const known = throughputs.filter((v): v is number => v !== undefined)
      const best = known.length === fixed.length ? Math.max(...known) : undefined
      check(
        `W6 ${phase} ${adaptive} throughput / best fixed${suffix}`,
        ratio(w6(adaptive, `${phase}.recPerSec`), best),
        ...atLeast(0.9),
        x
      )
      const p99s = fixed.map((peer) => w6(peer, `${phase}.p99Ms`))
      if (p99s.some((v) => v !== undefined && v <= ADAPTIVE_TARGET_MS)) {
        check(
          `W6 ${phase} ${adaptive} p99 (a fixed setting meets the target)`,
          w6(adaptive, `${phase}.p99Ms`),
          (v) => v <= ADAPTIVE_TARGET_MS,
          `≤ ${ADAPTIVE_TARGET_MS} ms (target)`,
          ms
        )
      }
    }
  }

  // Issue #4, not replaced by #13.
  for (const ours of SERIAL) versus("W1", "recPerSec", ours, "request-resolver", [(v) => v > 1, "> 1.00×"])
  for (const ours of SERIAL) versus("W1s", "recPerSec", ours, "request-resolver", atLeast(2))
  check(
    "W3 ours-full p50",
    metric("W3", "ours-full", "submit", sizes.w3Submits, "p50Ms"),
    (v) => v <= 11,
    "≤ 11 ms (window + 1)",
    ms
  )
  const small = sizes.w5[0]
  const large = sizes.w5[sizes.w5.length - 1]
  const scale = (workload: WorkloadName, via: Via, name: string) =>
    ratio(metric(workload, "ours-full", via, large, name), metric(workload, "ours-full", via, small, name))
  const w5 = `${large.toLocaleString("en-US")} vs ${small.toLocaleString("en-US")}`
  check(`W5 ours-full W1b ns/rec, ${w5}`, scale("W1b", "bulk", "nsPerRec"), ...atMost(1.3), x)
  check(`W5 ours-full W4 submit bytes/rec, ${w5}`, scale("W4", "submit", "bytesPerRec"), ...atMost(1.3), x)
  check(`W5 ours-full W4 offerAll bytes/rec, ${w5}`, scale("W4", "bulk", "bytesPerRec"), ...atMost(1.3), x)
  return out
}

/** One line for the end of the run: how many floors passed, failed, or could not be judged. */
export const floorSummary = (floors: ReadonlyArray<FloorResult>): string => {
  const count = (verdict: FloorResult["verdict"]) => floors.filter((f) => f.verdict === verdict).length
  return `floors: ${count("PASS")} PASS, ${count("FAIL")} FAIL, ${count("n/a")} n/a (of ${floors.length})`
}
