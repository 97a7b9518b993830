/**
 * `pnpm consumer:check`: the library as a user gets it. Builds
 * `packages/dynamic-batcher` (TypeScript 7, `tsc -b tsconfig.src.json`) into a
 * clean `dist`, scans the emitted JavaScript (`dist-check.ts`), packs it with
 * `pnpm pack` (which applies `publishConfig`), checks what the tarball holds,
 * installs it with npm into a fresh project under the OS temp directory together
 * with `effect` and `typescript` from the registry, type-checks there the smoke
 * program (`consumer/smoke.ts`) and every README snippet with the consumer's
 * compiler options (`consumer/tsconfig.json`: nodenext, strict), and runs the
 * smoke program on the machine's own Node (20) and on this Node (24).
 *
 * Usage: `node src/consumer-check.ts [--typescript=5.9.3] [--keep]`; the
 * environment variable `SYSTEM_NODE` names the Node 20 binary when it is not the
 * first `node` on the PATH outside `node_modules`.
 *
 * @since 0.1.0
 */
import { spawnSync } from "node:child_process"
import {
  accessSync,
  constants,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync
} from "node:fs"
import { tmpdir } from "node:os"
import { delimiter, join, resolve } from "node:path"
import { pathToFileURL } from "node:url"
import { documentedFiles, locate, readModules } from "./diagnostics.ts"
import { scanJavaScript } from "./dist-check.ts"

const tooling = resolve(import.meta.dirname, "..")
const root = resolve(tooling, "../..")
const library = join(root, "packages/dynamic-batcher")
const argument = (name: string): string | undefined =>
  process.argv.find((arg) => arg.startsWith(`--${name}=`))?.slice(name.length + 3)
const typescript = argument("typescript") ?? "5.9.3"
const keep = process.argv.includes("--keep")
const started = Date.now()

/** Runs a command to completion (10 minutes at most), failing the check with its output when it fails. */
const run = (command: string, args: ReadonlyArray<string>, cwd: string): string => {
  const result = spawnSync(command, args, { cwd, encoding: "utf8", timeout: 600_000 })
  if (result.status !== 0) {
    fail(
      `\`${[command, ...args].join(" ")}\` in ${cwd} ${
        result.error !== undefined ? `did not run: ${result.error.message}` : `exited with ${result.status}`
      }\n${result.stdout}${result.stderr}`
    )
  }
  return result.stdout
}

/** The temp directory of this run (the tarball, the project), named when the check fails so that it can be inspected. */
const work = mkdtempSync(join(tmpdir(), "edb-consumer-"))

const fail = (message: string): never => {
  console.error(`consumer:check: ${message}`)
  console.error(`consumer:check: the temp directory is left in ${work}`)
  process.exit(1)
}

const step = (what: string): void =>
  console.log(`consumer:check [${((Date.now() - started) / 1000).toFixed(1)} s] ${what}`)

/**
 * The machine's own Node: `SYSTEM_NODE`, else the first `node` on the PATH
 * outside any `node_modules` (pnpm puts the pinned Node 24 first), else `/usr/bin/node`.
 */
const systemNode = (): string => {
  if (process.env["SYSTEM_NODE"] !== undefined) return process.env["SYSTEM_NODE"]
  const dirs = (process.env["PATH"] ?? "").split(delimiter).filter((dir) => dir !== "" && !dir.includes("node_modules"))
  for (const dir of [...dirs, "/usr/bin", "/usr/local/bin"]) {
    try {
      accessSync(join(dir, "node"), constants.X_OK)
      return join(dir, "node")
    } catch {
      // not in this directory
    }
  }
  return fail("no system Node found on the PATH outside node_modules; set SYSTEM_NODE")
}

// 1. A clean build: tsc -b would skip an up-to-date project, and a stale file in dist would ship.
step("building packages/dynamic-batcher (tsc 7, clean dist)")
rmSync(join(library, "dist"), { recursive: true, force: true })
run(process.execPath, [join(root, "node_modules/typescript/bin/tsc"), "-b", "tsconfig.src.json", "--force"], library)

// 2. The emitted JavaScript: .ts specifiers rewritten, nothing newer than Node 20.
const node20 = systemNode()
const node20Version = run(node20, ["--version"], root).trim()
if (!node20Version.startsWith("v20.")) {
  console.warn(`consumer:check: the system Node is ${node20Version}, not 20: set SYSTEM_NODE to test Node 20`)
}
step(`scanning dist and importing every module of it on ${node20} (${node20Version})`)
const javascript = readdirSync(join(library, "dist"), { recursive: true, encoding: "utf8" }).filter((file) =>
  file.endsWith(".js")
)
const problems = javascript.flatMap((file) =>
  scanJavaScript(`dist/${file}`, readFileSync(join(library, "dist", file), "utf8"))
)
if (problems.length > 0) fail(`the emitted JavaScript would not run on Node 20:\n${problems.join("\n")}`)
// Importing every module, in one Node 20 process, checks its syntax and that its imports resolve.
const imports = javascript.map((file) =>
  `await import(${JSON.stringify(pathToFileURL(join(library, "dist", file)).href)})`
)
run(node20, ["--input-type=module", "--eval", imports.join("\n")], library)

// 3. The tarball: pnpm pack applies publishConfig (exports to dist).
step("packing with pnpm pack")
const pnpm = process.env["npm_execpath"]
run(
  pnpm !== undefined ? process.execPath : "npx",
  [...(pnpm !== undefined ? [pnpm] : ["--yes", "pnpm@10.34.9"]), "pack", "--pack-destination", work],
  library
)
const tarball = join(work, readdirSync(work).find((file) => file.endsWith(".tgz")) ?? fail("pnpm pack wrote no .tgz"))
const listing = run("tar", ["-tzf", tarball], work).split("\n").filter((line) => line !== "")
const required = [
  "package/README.md",
  "package/LICENSE",
  "package/package.json",
  "package/dist/index.js",
  "package/dist/index.d.ts",
  "package/dist/index.js.map",
  "package/dist/index.d.ts.map",
  "package/dist/promise.js",
  "package/dist/promise.d.ts",
  "package/src/index.ts"
]
const missing = required.filter((file) => !listing.includes(file))
const unwanted = listing.filter((file) =>
  /^package\/(test|build|benchmark|node_modules)\/|\.tsbuildinfo$|\.tgz$/.test(file)
)
if (missing.length > 0 || unwanted.length > 0) {
  fail(`the tarball is wrong: missing ${missing.join(", ") || "nothing"}; unwanted ${unwanted.join(", ") || "nothing"}`)
}
const packed = JSON.parse(run("tar", ["-xzOf", tarball, "package/package.json"], work)) as {
  exports: Record<string, unknown>
}
if (JSON.stringify(packed.exports).includes("./src/")) {
  fail("the packed package.json still exports ./src (publishConfig not applied)")
}

// 4. A fresh npm project, as a user has it.
step(`installing the tarball with npm, with effect 4.1.0 and typescript ${typescript}`)
const project = join(work, "project")
mkdirSync(project)
writeFileSync(
  join(project, "package.json"),
  JSON.stringify(
    {
      name: "effect-dynamic-batcher-consumer",
      private: true,
      type: "module",
      dependencies: { "effect": "4.1.0", "effect-dynamic-batcher": `file:${tarball}` },
      devDependencies: { "@types/node": "24.19.4", typescript }
    },
    null,
    2
  )
)
run("npm", ["install", "--no-audit", "--no-fund", "--prefer-offline", "--loglevel=error"], project)

// 5. Type check: the smoke program and the README snippets against the installed package.
step(`type-checking the smoke program and the README snippets (TypeScript ${typescript}, nodenext, strict)`)
cpSync(join(tooling, "consumer"), project, { recursive: true })
mkdirSync(join(project, "readme"))
cpSync(join(tooling, "snippets/prelude.d.ts"), join(project, "readme/prelude.d.ts"))
const modules = readModules(root, documentedFiles.filter((file) => existsSync(join(root, file))))
for (const module of modules) writeFileSync(join(project, "readme", module.fileName), module.text)
const tsc = spawnSync(process.execPath, [
  join(project, "node_modules/typescript/bin/tsc"),
  "-p",
  ".",
  "--pretty",
  "false"
], {
  cwd: project,
  encoding: "utf8",
  timeout: 600_000
})
if (tsc.status !== 0) {
  const located = locate(tsc.stdout + tsc.stderr, modules)
  fail(
    `TypeScript ${typescript} rejects the published package's use (${project}):\n` +
      located.map(({ message, where }) => `${where} - ${message}`).join("\n")
  )
}

// 6. Run the smoke program on Node 20 and on Node 24.
for (const node of [node20, process.execPath]) {
  step(`running the smoke program on ${node}`)
  console.log(run(node, ["out/smoke.js"], project).trim())
}

if (keep) console.log(`consumer:check: kept ${work}`)
else rmSync(work, { recursive: true, force: true })
step(`passed: ${tarball.split("/").at(-1)} (${listing.length} files) installs, type-checks and runs`)
