/**
 * Static checks of the library's emitted JavaScript before it is packed: every
 * relative import specifier was rewritten from `.ts` to `.js`
 * (`rewriteRelativeImportExtensions`), and no global API that Node 20 lacks is
 * called. Syntax is checked by Node 20 itself (`node --check`), and the smoke
 * program runs the code on Node 20; this list catches what a smoke run may not
 * reach.
 *
 * @since 0.1.0
 */

/**
 * Global APIs newer than Node 20 (V8 11.3), each with the Node version that added it.
 * A call of one of them in `dist` fails the check. Method names that are common on
 * other objects (`Set.prototype.union`, iterator helpers) are matched with their
 * receiver where the receiver is a global, so ordinary code does not trip the scan.
 *
 * @category constants
 * @since 0.1.0
 */
export const newerThanNode20: ReadonlyArray<
  { readonly api: string; readonly pattern: RegExp; readonly since: string }
> = [
  { api: "Promise.withResolvers", pattern: /\bPromise\.withResolvers\b/, since: "22" },
  { api: "Promise.try", pattern: /\bPromise\.try\b/, since: "22.10 (V8 12.8)" },
  { api: "Object.groupBy", pattern: /\bObject\.groupBy\b/, since: "21" },
  { api: "Map.groupBy", pattern: /\bMap\.groupBy\b/, since: "21" },
  { api: "Array.fromAsync", pattern: /\bArray\.fromAsync\b/, since: "22" },
  { api: "Iterator.from / Iterator helpers", pattern: /\bIterator\.(from|prototype)\b/, since: "22" },
  {
    api: "Set methods (union, intersection, …)",
    pattern: /\.(union|intersection|symmetricDifference|isSubsetOf|isSupersetOf|isDisjointFrom)\(/,
    since: "22"
  },
  { api: "RegExp.escape", pattern: /\bRegExp\.escape\b/, since: "24" },
  { api: "Error.isError", pattern: /\bError\.isError\b/, since: "24" },
  { api: "Float16Array", pattern: /\bFloat16Array\b/, since: "24" },
  { api: "Math.sumPrecise", pattern: /\bMath\.sumPrecise\b/, since: "not in Node 24" },
  { api: "process.getBuiltinModule", pattern: /\bprocess\.getBuiltinModule\b/, since: "22.3" },
  { api: "import.meta.dirname / filename", pattern: /\bimport\.meta\.(dirname|filename)\b/, since: "20.11" }
]

const relativeTsSpecifier = /(?:from\s*|import\s*\(\s*|import\s+)["'](\.{1,2}\/[^"']*\.[cm]?tsx?)["']/g

/**
 * The problems of one emitted JavaScript file, `path` its name in messages:
 * relative `.ts` specifiers left in, and calls of APIs in `newerThanNode20`.
 * Comments are skipped, so a JSDoc example does not count.
 *
 * **Example**
 *
 * ```ts
 * scanJavaScript("dist/index.js", `export * from "./Batcher.ts"`)
 * // ["dist/index.js:1: the specifier \"./Batcher.ts\" was not rewritten to .js (rewriteRelativeImportExtensions)"]
 * ```
 *
 * @category combinators
 * @since 0.1.0
 */
export const scanJavaScript = (path: string, text: string): Array<string> => {
  const problems: Array<string> = []
  withoutComments(text).split("\n").forEach((line, index) => {
    for (const match of line.matchAll(relativeTsSpecifier)) {
      problems.push(
        `${path}:${index + 1}: the specifier "${match[1]}" was not rewritten to .js (rewriteRelativeImportExtensions)`
      )
    }
    for (const { api, pattern, since } of newerThanNode20) {
      if (pattern.test(line)) {
        problems.push(`${path}:${index + 1}: ${api} needs Node ${since}; the package supports Node 20`)
      }
    }
  })
  return problems
}

/**
 * `text` with its comments replaced by spaces, keeping the line breaks (so line
 * numbers stay right) and leaving strings alone. Template literals and regular
 * expression literals are not parsed: a `//` inside one of those would hide the
 * rest of its line from the scan, which only errs towards a missed warning.
 */
const withoutComments = (text: string): string => {
  let out = ""
  let i = 0
  while (i < text.length) {
    const c = text[i]!
    if (c === "\"" || c === "'") {
      const end = endOfString(text, i)
      out += text.slice(i, end)
      i = end
    } else if (c === "/" && text[i + 1] === "/") {
      while (i < text.length && text[i] !== "\n") i++
    } else if (c === "/" && text[i + 1] === "*") {
      const end = text.indexOf("*/", i + 2)
      const stop = end === -1 ? text.length : end + 2
      out += text.slice(i, stop).replace(/[^\n]/g, " ")
      i = stop
    } else {
      out += c
      i++
    }
  }
  return out
}

const endOfString = (text: string, start: number): number => {
  const quote = text[start]
  let i = start + 1
  while (i < text.length && text[i] !== quote && text[i] !== "\n") i += text[i] === "\\" ? 2 : 1
  return i + 1
}
