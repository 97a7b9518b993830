/**
 * Turns the snippets of a Markdown file into TypeScript modules, and the
 * compiler's diagnostics on those modules back into Markdown locations.
 *
 * @since 0.1.0
 */
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { extractSnippets, type Snippet, type SourceLine } from "./markdown.ts"

/**
 * A snippet as a module: its file name, its text, and the Markdown line of each
 * of its lines (`origin[0]` is the Markdown line of the module's line 1).
 *
 * @category models
 * @since 0.1.0
 */
export interface SnippetModule {
  readonly fileName: string
  readonly text: string
  readonly markdown: string
  readonly origin: ReadonlyArray<number>
}

/**
 * The module of `snippet` from the Markdown file `markdown` (a path relative to
 * the repository root): the hidden prelude, then the block. The file name holds
 * the path and the fence line, so that a module is easy to find by hand too.
 *
 * **Example**
 *
 * ```ts
 * toModule("README.md", snippet).fileName // "README.md.L62.ts"
 * ```
 *
 * @category constructors
 * @since 0.1.0
 */
export const toModule = (markdown: string, snippet: Snippet): SnippetModule => {
  const lines: ReadonlyArray<SourceLine> = [...snippet.prelude, ...snippet.code]
  return {
    fileName: `${markdown.replaceAll("/", "--")}.L${snippet.fenceLine}.ts`,
    text: lines.map((line) => line.text).join("\n") + "\n",
    markdown,
    origin: lines.map((line) => line.line)
  }
}

/**
 * The Markdown files whose snippets are checked by default, from the repository root.
 *
 * @category constants
 * @since 0.1.0
 */
export const documentedFiles: ReadonlyArray<string> = ["README.md", "packages/dynamic-batcher/README.md"]

/**
 * The modules of every snippet of the Markdown `files` (paths relative to `root`), in order.
 *
 * **Example**
 *
 * ```ts
 * readModules("/repo", ["README.md"]).map((module) => module.fileName) // ["README.md.L62.ts", …]
 * ```
 *
 * @category constructors
 * @since 0.1.0
 */
export const readModules = (root: string, files: ReadonlyArray<string>): Array<SnippetModule> =>
  files.flatMap((file) =>
    extractSnippets(readFileSync(join(root, file), "utf8")).map((snippet) => toModule(file, snippet))
  )

/**
 * One compiler error, located in the Markdown file when it is in a snippet.
 *
 * @category models
 * @since 0.1.0
 */
export interface Located {
  /** `README.md:120:7` for a snippet, else the compiler's own location. */
  readonly where: string
  /** `error TS2304: Cannot find name 'Deferred'.`, with any continuation lines. */
  readonly message: string
}

const diagnosticLine = /^(.+?)\((\d+),(\d+)\): (error|warning) (TS\d+): (.*)$/

/**
 * Reads the output of `tsc --pretty false` and locates every diagnostic: one in
 * a snippet module gets its Markdown file and line; any other (the prelude, a
 * library file, an option) keeps the compiler's location. The result is in the
 * order of `modules` and of their lines (tsc sorts by file name), the others last.
 *
 * **Example**
 *
 * ```ts
 * locate("build/snippets/README.md.L62.ts(3,1): error TS2304: Cannot find name 'x'.", modules)
 * // [{ where: "README.md:64:1", message: "error TS2304: Cannot find name 'x'." }]
 * ```
 *
 * @category combinators
 * @since 0.1.0
 */
export const locate = (output: string, modules: ReadonlyArray<SnippetModule>): Array<Located> => {
  const byName = new Map(modules.map((module, index) => [module.fileName, { module, index }]))
  const located: Array<{ where: string; message: string; order: [number, number] }> = []
  for (const line of output.split(/\r?\n/)) {
    const match = diagnosticLine.exec(line)
    if (match === null) {
      // tsc indents the rest of a multi-line message (the elaboration of TS2345 and the like).
      const last = located.at(-1)
      if (last !== undefined && line.trim() !== "") last.message += "\n" + line
      continue
    }
    const [, file, row, column, severity, code, text] = match as unknown as Array<string>
    const found = byName.get(baseName(file!))
    const markdownLine = found?.module.origin[Number(row) - 1]
    located.push(
      found !== undefined && markdownLine !== undefined
        ? {
          where: `${found.module.markdown}:${markdownLine}:${column}`,
          message: `${severity} ${code}: ${text}`,
          order: [found.index, markdownLine]
        }
        : { where: `${file}:${row}:${column}`, message: `${severity} ${code}: ${text}`, order: [modules.length, 0] }
    )
  }
  return located
    .sort((a, b) => a.order[0] - b.order[0] || a.order[1] - b.order[1])
    .map(({ message, where }) => ({ where, message }))
}

const baseName = (path: string): string => path.slice(Math.max(path.lastIndexOf("/"), path.lastIndexOf("\\")) + 1)
