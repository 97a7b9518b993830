import { defineProject } from "vitest/config"

export default defineProject({
  test: {
    name: "effect-dynamic-batcher-cluster",
    include: ["test/**/*.test.ts"],
    // a PostgreSQL server for the multi-process tests, started once and stopped at the end
    globalSetup: ["test/setup/postgres.ts"]
  }
})
