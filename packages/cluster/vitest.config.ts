import { defineProject } from "vitest/config"

export default defineProject({
  test: {
    name: "effect-dynamic-batcher-cluster",
    include: ["test/**/*.test.ts"]
  }
})
