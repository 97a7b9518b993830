/**
 * `pnpm docs:check`: type-checks every ```ts block of the READMEs with the
 * workspace's TypeScript (the root's `tsc` 7) against the workspace packages.
 * Each block becomes one module under `build/snippets/`; a failing block's error
 * names the Markdown file and line. How to write a block that passes:
 * `packages/tooling/README.md`.
 *
 * Usage: `node src/docs-check.ts [file.md ...]` (paths from the repository root;
 * by default the root README and the library's README).
 *
 * @since 0.1.0
 */
import { spawnSync } from "node:child_process"
import { existsSync, mkdirSync, rmSync, writeFileSync } from "node:fs"
import { join, resolve } from "node:path"
import { documentedFiles, locate, readModules } from "./diagnostics.ts"

const tooling = resolve(import.meta.dirname, "..")
const root = resolve(tooling, "../..")
const outDir = join(tooling, "build/snippets")

// `pnpm docs:check -- a.md` passes the `--` on.
const args = process.argv.slice(2).filter((arg) => arg !== "--")
const files = args.length > 0 ? args : documentedFiles.filter((file) => existsSync(join(root, file)))

rmSync(outDir, { recursive: true, force: true })
mkdirSync(outDir, { recursive: true })
const modules = readModules(root, files)
for (const module of modules) writeFileSync(join(outDir, module.fileName), module.text)

// The root's TypeScript 7: the one `pnpm check` uses (this package's own `tsc` is 5.9, for ESLint and TypeDoc).
const tsc = join(root, "node_modules/typescript/bin/tsc")
const run = spawnSync(process.execPath, [tsc, "-p", join(tooling, "tsconfig.snippets.json"), "--pretty", "false"], {
  cwd: tooling,
  encoding: "utf8"
})
const located = locate(run.stdout + run.stderr, modules)
for (const { message, where } of located) console.error(`${where} - ${message}`)
if (run.status !== 0 || run.error !== undefined) {
  console.error(
    `docs:check: ${located.length} error(s) in the TypeScript snippets of ${files.join(", ")}` +
      (run.error !== undefined ? ` (${run.error.message})` : "") +
      ". How to write a snippet that passes: packages/tooling/README.md"
  )
  process.exit(1)
}
console.log(`docs:check: ${modules.length} TypeScript snippets in ${files.join(", ")} type-check`)
