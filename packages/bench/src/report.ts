/** The Markdown tables `pnpm bench` prints (and the README quotes). */
import type { FloorResult } from "./floors.ts"
import { ADAPTIVE_TARGET_MS } from "./peers/ours.ts"
import type { CellResult, CellSpec, Metrics } from "./spec.ts"
import { cellKey } from "./spec.ts"
import { W6_PHASES } from "./steps.ts"

const n = (v: number) => v.toLocaleString("en-US")

const rate = (v: number) =>
  v >= 1e6 ? `${(v / 1e6).toFixed(2)} M` : v >= 1e3 ? `${(v / 1e3).toFixed(1)} k` : v.toFixed(0)

const pct = (v: number) => `${(v * 100).toFixed(1)}%`

const sizeOf = (spec: CellSpec): string => {
  switch (spec.workload) {
    case "W1s":
      return `${n(spec.size)} × ${n(spec.perProducer ?? 1)}`
    case "W2":
      return `${n(spec.size)} producers, ${(spec.durationMs ?? 0) / 1000} s`
    case "W3":
      return `${n(spec.size)} submits`
    default:
      return n(spec.size)
  }
}

/** The metric the spread and the floor ratio are about. */
const mainMetric = (spec: CellSpec): string => {
  switch (spec.workload) {
    case "W2":
      return "fraction"
    case "W3":
      return "p50Ms"
    case "W4":
      return "bytesPerRec"
    default:
      return "recPerSec"
  }
}

const formatMain = (spec: CellSpec, v: number): string => {
  switch (spec.workload) {
    case "W2":
      return pct(v)
    case "W3":
      return `${v.toFixed(2)} ms`
    case "W4":
      return `${v.toFixed(0)} B`
    default:
      return rate(v)
  }
}

const describe = (spec: CellSpec, m: Metrics): string => {
  switch (spec.workload) {
    case "W2":
      return [
        `${pct(m.fraction)} of theoretical`,
        `${rate(m.recPerSec)} rec/s`,
        `util ${pct(m.utilization)}`,
        ...(m.statsUtilization === undefined ? [] : [`stats.utilization ${pct(m.statsUtilization)}`]),
        `avg batch ${m.avgBatchSize.toFixed(1)}`
      ].join(" · ")
    case "W3":
      return `p50 ${m.p50Ms.toFixed(2)} ms · p99 ${m.p99Ms.toFixed(2)} ms`
    case "W4":
      return `${m.bytesPerRec.toFixed(0)} bytes/record`
    default:
      return `${rate(m.recPerSec)} rec/s (${m.nsPerRec.toFixed(0)} ns/rec)`
  }
}

/**
 * One row per cell, grouped by workload; the W5 section lists every cell of
 * `w5Keys`, also those measured for W1b/W4 at the same size.
 */
export const resultsTable = (
  results: ReadonlyArray<CellResult>,
  runsLabel: string,
  w5Keys: ReadonlyArray<string>
): string => {
  const byKey = new Map(results.map((r) => [r.key, r]))
  const lines = [
    `| Workload | Peer | Via | Size | Median of ${runsLabel} | Spread (min–max) | vs effect-floor |`,
    "| --- | --- | --- | --- | --- | --- | --- |"
  ]
  const groups = ["W1", "W1s", "W1b", "W2", "W3", "W4"]
  const main = results.filter((r) => r.spec.group !== "W5" && r.spec.group !== "W6")
    .sort((a, b) => groups.indexOf(a.spec.group) - groups.indexOf(b.spec.group))
    .map((r) => ({ r, w5: false }))
  const w5 = w5Keys.flatMap((key) => {
    const r = byKey.get(key)
    return r === undefined ? [] : [{ r, w5: true }]
  }).sort((a, b) =>
    a.r.spec.workload.localeCompare(b.r.spec.workload) || a.r.spec.via.localeCompare(b.r.spec.via) ||
    a.r.spec.peer.localeCompare(b.r.spec.peer) || a.r.spec.size - b.r.spec.size
  )
  for (const { r, w5: isW5 } of [...main, ...w5]) {
    const { spec } = r
    const workload = `${isW5 ? `W5 (${spec.workload})` : spec.workload}${spec.process === "sync" ? " sync" : ""}`
    const head = `| ${workload} | ${spec.peer} | ${spec.via === "bulk" ? "bulk" : "submit"} | ${sizeOf(spec)} |`
    if (r.status !== "ok") {
      const why = (r.reason ?? "").split("\n")[0].replaceAll("|", "\\|")
      lines.push(`${head} ${r.status === "skipped" ? "skipped" : "**FAILED**"}: ${why} | | |`)
      continue
    }
    const metric = mainMetric(spec)
    const floor = byKey.get(cellKey({ ...spec, peer: "effect-floor" }))
    const vsFloor =
      spec.peer !== "effect-floor" && floor?.status === "ok" && spec.workload !== "W2" && spec.workload !== "W3"
        ? `${(r.median[metric] / floor.median[metric]).toFixed(2)}×`
        : ""
    const spread = r.runs.length > 1 ? `${formatMain(spec, r.min[metric])} – ${formatMain(spec, r.max[metric])}` : ""
    lines.push(`${head} ${describe(spec, r.median)} | ${spread} | ${vsFloor} |`)
  }
  return lines.join("\n")
}

export const floorsTable = (floors: ReadonlyArray<FloorResult>): string =>
  [
    "| Floor | Measured | Required | Verdict |",
    "| --- | --- | --- | --- |",
    ...floors.map((f) =>
      `| ${f.floor} | ${f.measured} | ${f.required} | ${f.verdict === "FAIL" ? "**FAIL**" : f.verdict} |`
    )
  ].join("\n")

const latency = (v: number) => Number.isFinite(v) ? `${v.toFixed(1)} ms` : "—"

/**
 * W6: per dispatch policy, one row per phase and setting (offered and
 * completed records/s, the p99 of the records submitted in the phase, the
 * cap and wait in force at its end), then the adaptive setting's time
 * series, a row per window. A p99 with censored records (no result by the
 * run's cut-off) is a lower bound, shown with "≥".
 */
export const stepsTables = (results: ReadonlyArray<CellResult>): string => {
  const w6 = results.filter((r) => r.spec.group === "W6")
  const lines: Array<string> = []
  for (const suffix of ["", "-idle"]) {
    const cells = w6.filter((r) => r.spec.peer.endsWith("-idle") === (suffix === "-idle"))
    if (cells.length === 0) continue
    lines.push(
      `#### W6, dispatch "${suffix === "" ? "full" : "idle"}" (target p99 ${ADAPTIVE_TARGET_MS} ms)`,
      "",
      "| Phase | Setting | Offered rec/s | Throughput rec/s | p99 | Cap / wait at end |",
      "| --- | --- | --- | --- | --- | --- |"
    )
    for (const { name: phase } of W6_PHASES) {
      for (const r of cells) {
        const m = r.median
        if (r.status !== "ok") {
          lines.push(`| ${phase} | ${r.spec.peer} | ${r.status === "skipped" ? "skipped" : "**FAILED**"} | | | |`)
          continue
        }
        const censored = m[`${phase}.censored`] > 0
        lines.push(
          `| ${phase} | ${r.spec.peer} | ${rate(m[`${phase}.offeredPerSec`])} | ${rate(m[`${phase}.recPerSec`])} | ${
            censored ? "≥ " : ""
          }${latency(m[`${phase}.p99Ms`])} | ${m[`${phase}.cap`]} / ${m[`${phase}.waitMs`]} ms |`
        )
      }
    }
    const adaptive = cells.find((r) => r.spec.peer === `ours-adaptive${suffix}`)
    if (adaptive?.series !== undefined && adaptive.series.length > 0) {
      lines.push(
        "",
        `${adaptive.spec.peer} over time (window of ${
          adaptive.spec.steps?.seriesWindowMs ?? 0
        } ms; p99 of the records submitted in it; cap and wait in force at its end):`,
        "",
        "| From | Phase | rec/s | p99 | Cap | Wait |",
        "| --- | --- | --- | --- | --- | --- |",
        ...adaptive.series.map((point) =>
          `| ${(point.fromMs / 1000).toFixed(2)} s | ${point.phase} | ${rate(point.recPerSec)} | ${
            latency(point.p99Ms)
          } | ${point.cap} | ${point.waitMs} ms |`
        )
      )
    }
    lines.push("")
  }
  return lines.join("\n")
}
