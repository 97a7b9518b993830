import { assert, describe, it } from "@effect/vitest"
import { locate, toModule } from "../src/diagnostics.ts"
import { extractSnippets } from "../src/markdown.ts"

const markdown = [
  "# Title", //                                  1
  "", //                                         2
  "```ts", //                                    3
  "const a = 1", //                              4
  "```", //                                      5
  "", //                                         6
  "<!-- docs-check", //                          7
  "declare const hidden: number", //             8
  "-->", //                                      9
  "```typescript", //                            10
  "const b = hidden", //                         11
  "```", //                                      12
  "```sh", //                                    13
  "echo not checked", //                         14
  "```", //                                      15
  "- a list item:", //                           16
  "  ```ts", //                                  17
  "  const c = 3", //                            18
  "  ```" //                                     19
].join("\n")

describe("extractSnippets", () => {
  it("finds every ts and typescript block, with its Markdown lines, and skips other languages", () => {
    const snippets = extractSnippets(markdown)
    assert.deepStrictEqual(snippets.map((s) => s.fenceLine), [3, 10, 17])
    assert.deepStrictEqual(snippets[0]!.code, [{ line: 4, text: "const a = 1" }])
    assert.deepStrictEqual(snippets[2]!.code, [{ line: 18, text: "const c = 3" }])
  })

  it("reads the hidden prelude that ends right before a block, and only that one", () => {
    const [first, second] = extractSnippets(markdown)
    assert.deepStrictEqual(first!.prelude, [])
    assert.deepStrictEqual(second!.prelude, [{ line: 8, text: "declare const hidden: number" }])
  })

  it("ignores an ordinary HTML comment before a block", () => {
    const [snippet] = extractSnippets("<!-- a note -->\n```ts\nconst x = 1\n```\n")
    assert.deepStrictEqual(snippet!.prelude, [])
  })

  it("does not end a block at a shorter fence or a fence of the other character", () => {
    const [snippet] = extractSnippets("````ts\n```\n~~~\nconst x = 1\n````\n")
    assert.deepStrictEqual(snippet!.code.map((line) => line.text), ["```", "~~~", "const x = 1"])
  })
})

describe("locate", () => {
  const modules = extractSnippets(markdown).map((snippet) => toModule("docs/GUIDE.md", snippet))

  it("names the Markdown file and line of an error in a snippet, the prelude included", () => {
    const output = [
      "build/snippets/docs--GUIDE.md.L10.ts(2,11): error TS2304: Cannot find name 'x'.",
      "build/snippets/docs--GUIDE.md.L10.ts(1,15): error TS2322: Type 'string' is not assignable to type 'number'.",
      "  The elaboration of the error."
    ].join("\n")
    assert.deepStrictEqual(locate(output, modules), [
      {
        where: "docs/GUIDE.md:8:15",
        message: "error TS2322: Type 'string' is not assignable to type 'number'.\n  The elaboration of the error."
      },
      { where: "docs/GUIDE.md:11:11", message: "error TS2304: Cannot find name 'x'." }
    ])
  })

  it("keeps the compiler's location for an error outside the snippets, after the snippets' errors", () => {
    const output = [
      "snippets/prelude.d.ts(3,1): error TS1005: ';' expected.",
      "build/snippets/docs--GUIDE.md.L3.ts(1,7): error TS2451: Cannot redeclare block-scoped variable 'a'."
    ].join("\n")
    assert.deepStrictEqual(locate(output, modules).map((located) => located.where), [
      "docs/GUIDE.md:4:7",
      "snippets/prelude.d.ts:3:1"
    ])
  })
})
