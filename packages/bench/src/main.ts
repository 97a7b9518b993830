/**
 * `pnpm bench` / `pnpm bench:smoke`: runs every cell (peer × workload × size)
 * in a fresh child process (`node --expose-gc src/cell.ts`), then prints the
 * Markdown tables (results, floors) and writes the JSON.
 *
 * Flags:
 *   --smoke            tiny sizes, 1 run, no warm-up, one child per peer, no floors
 *   --only=W1,W3,W5    only these workload groups (W6: adaptive batching, its own tables)
 *   --peers=a,b        only these peers (names as in the table)
 *   --process=async    only the cells with this `process` mode (async or sync; default both)
 *   --runs=N           measured runs per cell (default 5, 11 for W1, W1s, W1b; W5 scales its own)
 *   --rounds=N         interleaved rounds of the W1, W1s, W1b and W2 cells (default 4; see `schedule`)
 *   --library=PATH     benchmark another checkout's src/index.ts as "ours"
 *   --label=TEXT       a note for the JSON and the table heading (e.g. the library commit)
 *   --out=PATH         where to write the JSON (default results/latest.json,
 *                      results/smoke.json with --smoke)
 *
 * Exits 1 only if a cell crashed or returned a wrong result: floors are
 * reported, not enforced.
 */
import { execFileSync, spawn } from "node:child_process"
import { mkdirSync, writeFileSync } from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { evaluateFloors, floorSummary } from "./floors.ts"
import { peerByName, peers } from "./peers/index.ts"
import { benchSizes, makePlan, runsInRounds, smokeSizes } from "./plan.ts"
import type { Sizes } from "./plan.ts"
import { floorsTable, resultsTable, stepsTables } from "./report.ts"
import type { CellResult, CellSpec } from "./spec.ts"
import { cellKey, RESULT_PREFIX } from "./spec.ts"
import { summarize } from "./stats.ts"

const here = path.dirname(fileURLToPath(import.meta.url))
const packageDir = path.resolve(here, "..")

const flags = new Map(
  process.argv.slice(2).map((arg) => {
    const [name, ...value] = arg.replace(/^--/, "").split("=")
    return [name, value.join("=")] as const
  })
)
/** A flag's value as a positive integer (`fallback` when the flag is absent); exits on anything else. */
const positiveIntegerFlag = (name: string, fallback: number): number => {
  const value = flags.get(name)
  if (value === undefined) return fallback
  const parsed = Number(value)
  if (!Number.isInteger(parsed) || parsed < 1) {
    process.stderr.write(`--${name} must be a positive integer, got "${value}"\n`)
    process.exit(2)
  }
  return parsed
}
const smoke = flags.has("smoke")
const baseSizes: Sizes = smoke ? smokeSizes : benchSizes
const runsFlag = flags.has("runs") ? positiveIntegerFlag("runs", 0) : undefined
const sizes: Sizes = runsFlag === undefined ? baseSizes : { ...baseSizes, runs: runsFlag, throughputRuns: runsFlag }
const rounds = positiveIntegerFlag("rounds", 4)
const selectedPeers = flags.get("peers")?.split(",").map(peerByName) ?? peers
const only = flags.get("only")?.split(",")
const mode = flags.get("process")
const library = flags.get("library")
  ? path.resolve(process.env.INIT_CWD ?? process.cwd(), flags.get("library")!)
  : undefined
const out = path.resolve(
  packageDir,
  flags.get("out") ?? (smoke ? "results/smoke.json" : "results/latest.json")
)

const fullPlan = makePlan(sizes, selectedPeers)
const plan = fullPlan.cells.filter((cell) =>
  (mode === undefined || cell.process === mode) &&
  (only === undefined || only.includes(cell.group) ||
    (only.includes("W5") && fullPlan.w5Keys.includes(cellKey(cell))))
)
const w5Keys = only === undefined || only.includes("W5") ? fullPlan.w5Keys : []
const cellScript = path.join(here, "cell.ts")
const childTimeoutMs = smoke ? 60_000 : 300_000

/**
 * The machine's 1-minute load average, sampled as each child starts: the
 * bench itself adds about 1, so more than that on a 2-core machine means
 * other work shared the cores, and the numbers are noisier.
 */
const loadSamples: Array<number> = []

/**
 * Runs `specs` in one fresh child; resolves to their results (failed ones if
 * the child died). `round` (0-based) labels the progress lines of a child
 * that runs one round of a cell.
 */
const runChild = (specs: ReadonlyArray<CellSpec>, round?: number): Promise<Array<CellResult>> =>
  new Promise((resolve) => {
    loadSamples.push(os.loadavg()[0])
    const started = performance.now()
    const child = spawn(
      process.execPath,
      ["--expose-gc", "--max-old-space-size=8192", cellScript, JSON.stringify(specs)],
      {
        stdio: ["ignore", "pipe", "inherit"],
        env: library === undefined ? process.env : { ...process.env, BENCH_LIBRARY: library }
      }
    )
    const results: Array<CellResult> = []
    let buffer = ""
    child.stdout.setEncoding("utf8")
    child.stdout.on("data", (chunk: string) => {
      buffer += chunk
      let newline: number
      while ((newline = buffer.indexOf("\n")) >= 0) {
        const line = buffer.slice(0, newline)
        buffer = buffer.slice(newline + 1)
        if (line.startsWith(RESULT_PREFIX)) {
          const result = JSON.parse(line.slice(RESULT_PREFIX.length)) as CellResult
          results.push(result)
          progress(result, round)
        } else if (line.length > 0) {
          process.stderr.write(`  ${line}\n`)
        }
      }
    })
    const timer = setTimeout(() => child.kill("SIGKILL"), childTimeoutMs)
    child.on("close", (code, signal) => {
      clearTimeout(timer)
      const wallMs = performance.now() - started
      for (const spec of specs) {
        if (results.some((r) => r.key === cellKey(spec))) continue
        const reason = signal === "SIGKILL"
          ? `killed after ${childTimeoutMs / 1000} s`
          : `child exited with ${signal ?? code} before reporting`
        const result: CellResult = {
          key: cellKey(spec),
          spec,
          status: "failed",
          reason,
          runs: [],
          median: {},
          min: {},
          max: {},
          wallMs
        }
        results.push(result)
        progress(result, round)
      }
      resolve(results)
    })
  })

/** One child of the bench: a cell, or one round of a cell that runs in rounds. */
interface Child {
  readonly spec: CellSpec
  /** 0-based; absent for a cell that runs in one child. */
  readonly round?: number | undefined
}

/**
 * The measured runs of round `round` when `runs` are split over `rounds`
 * rounds: as even as possible, the earlier rounds taking the remainder.
 */
const runsOfRound = (runs: number, round: number): number => Math.floor(runs / rounds) + (round < runs % rounds ? 1 : 0)

/**
 * What runs, in order, one child each. This VM's speed drifts by up to 2×
 * over tens of seconds (load from elsewhere, CPU frequency), so a slow stretch
 * that lands on one peer's runs would move a floor's ratio. The cells that
 * `runsInRounds` (W1, W1s, W1b, W2) therefore run first, one workload group
 * after the other, each group in `rounds` interleaved rounds: round r runs
 * every cell of the group once, in plan order on even rounds and in reverse
 * order on odd ones, with its share of the cell's measured runs (11 over 4
 * rounds: 3, 3, 3, 2; a cell with fewer runs than rounds sits out the last
 * rounds rather than run a child with none). A drift then weighs on every
 * peer alike. Each child does its own warm-up. The other cells follow, one
 * child each.
 */
const schedule: Array<Child> = (() => {
  if (smoke) return plan.map((spec) => ({ spec }))
  const rounded = plan.filter(runsInRounds)
  const groups = [...new Set(rounded.map((spec) => spec.group))]
  const roundOf = (cells: ReadonlyArray<CellSpec>, round: number): Array<Child> =>
    (round % 2 === 0 ? cells : [...cells].reverse())
      .map((spec) => ({ spec: { ...spec, runs: runsOfRound(spec.runs, round) }, round }))
      .filter((child) => child.spec.runs > 0)
  const roundsOf = (cells: ReadonlyArray<CellSpec>): Array<Child> =>
    Array.from({ length: rounds }, (_, round) => roundOf(cells, round)).flat()
  return [
    ...groups.flatMap((group) => roundsOf(rounded.filter((spec) => spec.group === group))),
    ...plan.filter((spec) => !runsInRounds(spec)).map((spec) => ({ spec }))
  ]
})()

/** Cell `spec`'s result from the results of its rounds (or its only result), every run pooled. */
const mergeRounds = (spec: CellSpec, parts: ReadonlyArray<CellResult>): CellResult => {
  if (parts.length === 1) return parts[0]
  const failed = parts.find((part) => part.status === "failed")
  const runs = parts.flatMap((part) => part.runs)
  return {
    ...parts[0],
    spec,
    status: failed !== undefined ? "failed" : parts[0].status,
    reason: failed?.reason ?? parts[0].reason,
    runs,
    ...summarize(runs),
    wallMs: parts.reduce((sum, part) => sum + part.wallMs, 0)
  }
}

let done = 0
const progress = (r: CellResult, round?: number) => {
  done++
  const { spec } = r
  const summary = r.status === "ok"
    ? Object.entries(r.median).map(([k, v]) => `${k}=${Number(v.toPrecision(4))}`).join(" ")
    : `${r.status}: ${(r.reason ?? "").split("\n")[0]}`
  const ofRound = round === undefined
    ? ""
    : ` round ${round + 1}/${rounds} (${spec.runs} run${spec.runs === 1 ? "" : "s"})`
  process.stderr.write(
    `[${done}/${schedule.length}] ${
      spec.group === "W5" ? `W5:${spec.workload}` : spec.workload
    } ${spec.peer} ${spec.via} @${spec.size}${spec.process === "sync" ? " sync" : ""}${ofRound}  ${summary}  (${
      (r.wallMs / 1000).toFixed(1)
    } s)\n`
  )
  if (r.status === "failed" && r.reason) process.stderr.write(`${r.reason}\n`)
}

const git = (...args: Array<string>): string => {
  try {
    return execFileSync("git", args, { cwd: packageDir, encoding: "utf8" }).trim()
  } catch {
    return "unknown"
  }
}

const started = performance.now()
process.stderr.write(
  `${smoke ? "smoke" : "bench"}: ${plan.length} cells, node ${process.version}, ${os.cpus().length} cores` +
    `${library ? `, library ${library}` : ""}\n`
)
const results: Array<CellResult> = []
if (smoke) {
  // One child per peer keeps the smoke run within seconds.
  for (const peer of selectedPeers) {
    const specs = plan.filter((cell) => cell.peer === peer.name)
    if (specs.length > 0) results.push(...await runChild(specs))
  }
} else {
  const parts: Array<CellResult> = []
  for (const { round, spec } of schedule) parts.push(...await runChild([spec], round))
  for (const spec of plan) results.push(mergeRounds(spec, parts.filter((part) => part.key === cellKey(spec))))
}

const failed = results.filter((r) => r.status === "failed")
const skipped = results.filter((r) => r.status === "skipped")
const passed = results.filter((r) => r.status === "ok")
const floors = smoke ? [] : evaluateFloors(results, sizes)
const runsLabel = smoke
  ? "1 run"
  : `${sizes.runs} runs (${sizes.throughputRuns} for W1, W1s, W1b; W1–W2 over ${rounds} rounds)`

const meta = {
  date: new Date().toISOString(),
  mode: smoke ? "smoke" : "bench",
  node: process.version,
  v8: process.versions.v8,
  platform: `${os.platform()} ${os.release()} ${os.arch()}`,
  cpu: os.cpus()[0]?.model ?? "unknown",
  cores: os.cpus().length,
  memoryGiB: Math.round(os.totalmem() / 2 ** 30),
  commit: git("rev-parse", "HEAD"),
  libraryDirty: library === undefined ? git("status", "--porcelain", "--", "../dynamic-batcher/src") !== "" : undefined,
  library: library ?? "workspace effect-dynamic-batcher",
  label: flags.get("label") || undefined,
  sizes,
  /** Interleaved rounds of the W1, W1s, W1b and W2 cells (none in a smoke run). */
  rounds: smoke ? undefined : rounds,
  wallSeconds: (performance.now() - started) / 1000,
  loadAverage: {
    min: Math.min(...loadSamples),
    max: Math.max(...loadSamples),
    mean: loadSamples.reduce((a, b) => a + b, 0) / loadSamples.length
  }
}

mkdirSync(path.dirname(out), { recursive: true })
writeFileSync(out, `${JSON.stringify({ meta, floors, cells: results }, null, 2)}\n`)

const lines = [
  `## ${smoke ? "Smoke run" : "Results"}: node ${process.version}, ${meta.cores} cores (${meta.cpu}), ${
    meta.date.slice(0, 10)
  }` +
  (meta.label ? `, ${meta.label}` : ""),
  "",
  `Load average (1 min) as each cell started: ${meta.loadAverage.min.toFixed(1)}–${
    meta.loadAverage.max.toFixed(1)
  }, mean ${
    meta.loadAverage.mean.toFixed(1)
  }, on ${meta.cores} cores (the bench itself adds ~1; more means shared cores and noisier numbers).`,
  "",
  ...(results.some((r) => r.spec.group !== "W6")
    ? [resultsTable(results.filter((r) => r.spec.process === "async"), runsLabel, w5Keys), ""]
    : [])
]
const syncResults = results.filter((r) => r.spec.process === "sync")
if (syncResults.length > 0) {
  lines.push(
    "### The same with a synchronous `process` (Effect peers; extra rows, no floors)",
    "",
    resultsTable(syncResults, runsLabel, []),
    ""
  )
}
if (results.some((r) => r.spec.group === "W6")) {
  lines.push(
    "### W6: adaptive batching under a load that steps (light → saturating → overload)",
    "",
    stepsTables(results)
  )
}
if (!smoke) {
  lines.push("## Floors (ratios within this run)", "", floorsTable(floors), "", floorSummary(floors), "")
}
process.stdout.write(`${lines.join("\n")}\n`)
process.stderr.write(`wrote ${path.relative(process.cwd(), out)} in ${meta.wallSeconds.toFixed(0)} s\n`)
process.stdout.write(
  `${smoke ? "smoke" : "bench"}: ${passed.length} passed, ${failed.length} failed, ${skipped.length} skipped\n`
)
process.exitCode = failed.length > 0 ? 1 : 0
