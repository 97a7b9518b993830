import { defineProject } from "vitest/config"

export default defineProject({
  test: {
    name: "serve",
    include: ["test/**/*.test.ts"],
    // The tests start real servers and child processes on a shared 2-core machine.
    testTimeout: 60_000,
    hookTimeout: 60_000
  }
})
