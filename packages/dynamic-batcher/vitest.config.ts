import { defineProject } from "vitest/config"

export default defineProject({
  test: {
    name: "effect-dynamic-batcher",
    include: ["test/**/*.test.ts"]
  }
})
