/**
 * Finds the TypeScript snippets of a Markdown file: every fenced block whose info
 * string is `ts` or `typescript`, with the hidden prelude written right before it
 * and the Markdown line of every line, so that a type error can name the line a
 * reader sees.
 *
 * @since 0.1.0
 */

/**
 * One fenced TypeScript block of a Markdown file.
 *
 * @category models
 * @since 0.1.0
 */
export interface Snippet {
  /** The Markdown line (1-based) of the opening fence. */
  readonly fenceLine: number
  /** The code of the hidden prelude comment before the block, as lines; empty when there is none. */
  readonly prelude: ReadonlyArray<SourceLine>
  /** The code of the block, as lines, with the block's indentation removed. */
  readonly code: ReadonlyArray<SourceLine>
}

/**
 * A line of code and the Markdown line (1-based) it was read from.
 *
 * @category models
 * @since 0.1.0
 */
export interface SourceLine {
  readonly line: number
  readonly text: string
}

/**
 * The opening of a hidden prelude: an HTML comment (invisible on GitHub and npm)
 * whose first line is exactly this marker, closed by a line `-->`.
 *
 * @category constants
 * @since 0.1.0
 */
export const preludeMarker = "<!-- docs-check"

/**
 * The fence languages that are type-checked. Any other (`sh`, `js`, `text`, none)
 * is left alone.
 *
 * @category constants
 * @since 0.1.0
 */
export const checkedLanguages: ReadonlySet<string> = new Set(["ts", "typescript"])

const fenceOpen = /^(\s*)(`{3,}|~{3,})\s*([^\s`]*)/

/**
 * Every checked snippet of `markdown`, in order. A block that is never closed runs
 * to the end of the file, as CommonMark reads it.
 *
 * **Example**
 *
 * ```ts
 * const [snippet] = extractSnippets("intro\n```ts\nconst x = 1\n```\n")
 * // snippet.fenceLine === 2, snippet.code[0] === { line: 3, text: "const x = 1" }
 * ```
 *
 * @category constructors
 * @since 0.1.0
 */
export const extractSnippets = (markdown: string): Array<Snippet> => {
  const lines = markdown.split(/\r?\n/)
  const snippets: Array<Snippet> = []
  let index = 0
  while (index < lines.length) {
    const open = fenceOpen.exec(lines[index]!)
    if (open === null) {
      index++
      continue
    }
    const [, indent, fence, language] = open as unknown as [string, string, string, string]
    const close = new RegExp(`^\\s*${fence[0] === "`" ? "`" : "~"}{${fence.length},}\\s*$`)
    const fenceIndex = index
    const body: Array<SourceLine> = []
    index++
    while (index < lines.length && !close.test(lines[index]!)) {
      body.push({ line: index + 1, text: dedent(lines[index]!, indent.length) })
      index++
    }
    index++
    if (checkedLanguages.has(language.toLowerCase())) {
      snippets.push({ fenceLine: fenceIndex + 1, prelude: preludeBefore(lines, fenceIndex), code: body })
    }
  }
  return snippets
}

/**
 * The code of the hidden prelude that ends on the last non-blank line before the
 * fence at `fenceIndex` (0-based), or nothing.
 */
const preludeBefore = (lines: ReadonlyArray<string>, fenceIndex: number): Array<SourceLine> => {
  let end = fenceIndex - 1
  while (end >= 0 && lines[end]!.trim() === "") end--
  if (end < 0 || lines[end]!.trim() !== "-->") return []
  let start = end - 1
  while (start >= 0 && !lines[start]!.includes("-->") && lines[start]!.trim() !== preludeMarker) start--
  if (start < 0 || lines[start]!.trim() !== preludeMarker) return []
  const prelude: Array<SourceLine> = []
  for (let i = start + 1; i < end; i++) prelude.push({ line: i + 1, text: lines[i]! })
  return prelude
}

/** Removes up to `width` leading spaces: the indentation of a fence inside a list item. */
const dedent = (text: string, width: number): string => {
  let cut = 0
  while (cut < width && text[cut] === " ") cut++
  return text.slice(cut)
}
