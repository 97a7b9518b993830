/**
 * vitest globalSetup: one PostgreSQL server for the whole test run (its
 * connection string is provided as `databaseUrl`), stopped at the end.
 */
import type { TestProject } from "vitest/node"
import { startPostgres } from "../../demo/postgres.ts"

export default async function setup(project: TestProject) {
  const pg = await startPostgres()
  project.provide("databaseUrl", pg.url)
  return () => pg.stop()
}

declare module "vitest" {
  export interface ProvidedContext {
    databaseUrl: string
  }
}
