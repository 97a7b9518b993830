import { assert, describe, it } from "@effect/vitest"
import { scanJavaScript } from "../src/dist-check.ts"

describe("scanJavaScript", () => {
  it("passes emitted code whose relative specifiers end in .js and that uses only Node 20 APIs", () => {
    const code = [
      `import * as internal from "./internal/batcher.js";`,
      `export * as Batcher from "./Batcher.js";`,
      `import { Effect } from "effect";`,
      `const done = new Promise((resolve) => resolve(1));`
    ].join("\n")
    assert.deepStrictEqual(scanJavaScript("dist/index.js", code), [])
  })

  it("names the file and line of a relative .ts specifier left in an import, an export or an import()", () => {
    const code = [`import { a } from "./a.ts";`, `export * from "../b.mts";`, `const c = await import("./c.ts");`].join(
      "\n"
    )
    assert.deepStrictEqual(scanJavaScript("dist/x.js", code).map((problem) => problem.split(": the")[0]), [
      "dist/x.js:1",
      "dist/x.js:2",
      "dist/x.js:3"
    ])
  })

  it("leaves a .ts specifier of a package alone: only relative ones are rewritten", () => {
    assert.deepStrictEqual(scanJavaScript("dist/x.js", `import x from "some-package/file.ts";`), [])
  })

  it("names an API that Node 20 lacks, and the Node version that has it", () => {
    const [problem] = scanJavaScript("dist/x.js", "\nconst { promise, resolve } = Promise.withResolvers();")
    assert.strictEqual(problem, "dist/x.js:2: Promise.withResolvers needs Node 22; the package supports Node 20")
  })

  it("does not count what a comment says, and keeps the line numbers after a block comment", () => {
    const code = [
      "/**",
      " * const values = await Array.fromAsync(stream)",
      " */",
      "// Object.groupBy(records, key)",
      `const s = "// not a comment"; const g = Object.groupBy(xs, f);`
    ].join("\n")
    assert.deepStrictEqual(scanJavaScript("dist/x.js", code), [
      "dist/x.js:5: Object.groupBy needs Node 21; the package supports Node 20"
    ])
  })
})
