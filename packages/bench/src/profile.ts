/**
 * `pnpm --filter effect-dynamic-batcher-bench profile W1 ours-full [bulk|submit] [--size=N] [--runs=N] [--library=PATH] [--top=N] [--heap] [--sync]`
 *
 * `--sync` profiles the cell with a synchronous `process` (default: the asynchronous one).
 *
 * `--size` picks a W5 size (e.g. `profile W4 ours-full bulk --size=1000000`).
 *
 * Runs one bench cell in a child with `--cpu-prof`, writes the profile under
 * `profiles/`, then prints the hottest functions by self time, and self time
 * per source file (the library's own files, Effect's, the harness's).
 *
 * With `--heap`, the child runs V8's sampling heap profiler instead (through
 * `node:inspector`, keeping the samples of objects the GC collected), and
 * this prints where the sampled bytes were allocated: per allocating
 * function and per file, garbage included, i.e. what each record allocates.
 */
import { spawnSync } from "node:child_process"
import { mkdirSync, readdirSync, readFileSync, statSync } from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { peers } from "./peers/index.ts"
import { benchSizes, makePlan } from "./plan.ts"

const here = path.dirname(fileURLToPath(import.meta.url))
const packageDir = path.resolve(here, "..")
const args = process.argv.slice(2).filter((a) => !a.startsWith("--"))
const flags = new Map(
  process.argv.slice(2).filter((a) => a.startsWith("--")).map((a) => {
    const [name, ...value] = a.slice(2).split("=")
    return [name, value.join("=")] as const
  })
)
const [workload = "W1", peer = "ours-full", via = workload === "W1b" ? "bulk" : "submit"] = args
const size = flags.has("size") ? Number(flags.get("size")) : undefined
const spec = makePlan(benchSizes, peers).cells.find((c) =>
  c.workload === workload && c.peer === peer && c.via === via &&
  c.process === (flags.has("sync") ? "sync" : "async") &&
  (size === undefined ? c.group === workload : c.size === size)
)
if (spec === undefined) {
  console.error(`no cell ${workload} ${peer} ${via}`)
  process.exit(2)
}
const runs = Number(flags.get("runs") ?? spec.runs)
const top = Number(flags.get("top") ?? 25)
const library = flags.get("library")
  ? path.resolve(process.env.INIT_CWD ?? process.cwd(), flags.get("library")!)
  : undefined

const heap = flags.has("heap")
const dir = path.join(packageDir, "profiles")
mkdirSync(dir, { recursive: true })
const before = new Set(readdirSync(dir))
const heapFile = path.join(dir, `heap-${workload}-${peer}-${via}-${Date.now()}.heapprofile`)
const env: NodeJS.ProcessEnv = { ...process.env }
if (library) env.BENCH_LIBRARY = library
if (heap) env.BENCH_HEAP_SAMPLING = heapFile
const child = spawnSync(
  process.execPath,
  [
    "--expose-gc",
    ...(heap ? [] : ["--cpu-prof", `--cpu-prof-dir=${dir}`]),
    path.join(here, "cell.ts"),
    JSON.stringify([{ ...spec, runs }])
  ],
  { stdio: ["ignore", "pipe", "inherit"], encoding: "utf8", env }
)
if (child.status !== 0) {
  console.error(child.stdout)
  process.exit(child.status ?? 1)
}
const file = heap ? heapFile : readdirSync(dir).filter((f) => f.endsWith(".cpuprofile") && !before.has(f))
  .map((f) => path.join(dir, f))
  .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs)[0]
if (file === undefined) throw new Error("no profile written")

interface CallFrame {
  readonly functionName: string
  readonly url: string
  readonly lineNumber: number
}
interface ProfileNode {
  readonly id: number
  readonly callFrame: CallFrame
}
interface HeapNode extends ProfileNode {
  readonly children: ReadonlyArray<HeapNode>
}

/** Per profile node: self time in µs (CPU profile) or sampled bytes (heap profile). */
const nodeById = new Map<number, ProfileNode>()
const selfUs = new Map<number, number>()
if (heap) {
  const profile = JSON.parse(readFileSync(file, "utf8")) as {
    readonly head: HeapNode
    readonly samples: ReadonlyArray<{ readonly size: number; readonly nodeId: number }>
  }
  const visit = (node: HeapNode) => {
    nodeById.set(node.id, node)
    node.children.forEach(visit)
  }
  visit(profile.head)
  for (const sample of profile.samples) selfUs.set(sample.nodeId, (selfUs.get(sample.nodeId) ?? 0) + sample.size)
} else {
  const profile = JSON.parse(readFileSync(file, "utf8")) as {
    readonly nodes: ReadonlyArray<ProfileNode>
    readonly samples: ReadonlyArray<number>
    readonly timeDeltas: ReadonlyArray<number>
  }
  for (const node of profile.nodes) nodeById.set(node.id, node)
  for (let i = 0; i < profile.samples.length; i++) {
    selfUs.set(profile.samples[i], (selfUs.get(profile.samples[i]) ?? 0) + (profile.timeDeltas[i] ?? 0))
  }
}
const shortUrl = (url: string) =>
  url.replace(/^file:\/\//, "")
    .replace(/.*\/node_modules\/\.pnpm\/[^/]+\/node_modules\//, "")
    .replace(/.*\/packages\//, "packages/")
    .replace(/^\/tmp\/[^/]+\/packages\//, "packages/")
const byFunction = new Map<string, number>()
const byFile = new Map<string, number>()
let total = 0
for (const [id, us] of selfUs) {
  const { functionName, url, lineNumber } = nodeById.get(id)!.callFrame
  const where = url === "" ? "(native)" : `${shortUrl(url)}:${lineNumber + 1}`
  const name = `${functionName || "(anonymous)"}  ${where}`
  byFunction.set(name, (byFunction.get(name) ?? 0) + us)
  const fileKey = url === "" ? functionName : shortUrl(url)
  byFile.set(fileKey, (byFile.get(fileKey) ?? 0) + us)
  total += us
}
const unit = (v: number) =>
  heap ? `${(v / 2 ** 20).toFixed(1).padStart(9)} MiB` : `${(v / 1000).toFixed(1).padStart(9)} ms`
const print = (title: string, map: Map<string, number>, n: number) => {
  console.log(`\n${title}`)
  for (const [name, v] of [...map].sort((a, b) => b[1] - a[1]).slice(0, n)) {
    console.log(`${unit(v)} ${(100 * v / total).toFixed(1).padStart(5)}%  ${name}`)
  }
}
const result = child.stdout.split("\n").find((l) => l.startsWith("@@bench-result "))
const median = result ? JSON.parse(result.slice("@@bench-result ".length)).median : {}
console.log(`${workload} ${peer} ${via}: ${runs} runs + warm-up, median ${JSON.stringify(median)}`)
console.log(`profile: ${path.relative(process.cwd(), file)}, ${unit(total).trim()} sampled`)
print(`top ${top} functions by ${heap ? "allocated bytes" : "self time"}`, byFunction, top)
print(`${heap ? "allocated bytes" : "self time"} by file`, byFile, 20)
