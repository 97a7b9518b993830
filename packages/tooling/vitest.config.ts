import { defineProject } from "vitest/config"

export default defineProject({
  test: {
    name: "effect-dynamic-batcher-tooling",
    include: ["test/**/*.test.ts"]
  }
})
