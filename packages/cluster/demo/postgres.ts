/**
 * A throwaway PostgreSQL server for the tests and the demo: a data directory
 * in a temp folder, a free port on 127.0.0.1, trust authentication, stopped
 * and deleted by `stop`. PostgreSQL refuses to run as root, so as root the
 * server runs as the `postgres` user (which the Debian package creates).
 */
import { execFileSync } from "node:child_process"
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs"
import { createServer } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"

/** A running server: its connection string and how to stop it. */
export interface Postgres {
  readonly url: string
  readonly stop: () => void
}

/** Starts a server; throws with the server's log when it does not come up. */
export const startPostgres = async (): Promise<Postgres> => {
  const bin = findBin()
  const dir = mkdtempSync(join(tmpdir(), "batcher-cluster-pg-"))
  const data = join(dir, "data")
  const log = join(dir, "server.log")
  const port = await freePort()
  const asRoot = process.getuid?.() === 0
  if (asRoot) {
    const { gid, uid } = postgresUser()
    chownSync(dir, uid, gid)
  }
  const run = (command: string, args: ReadonlyArray<string>) =>
    asRoot
      ? execFileSync("runuser", ["-u", "postgres", "--", join(bin, command), ...args], { stdio: "pipe" })
      : execFileSync(join(bin, command), args, { stdio: "pipe" })
  run("initdb", ["-D", data, "-U", "postgres", "--auth=trust", "--no-sync", "-E", "UTF8"])
  const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200`
  run("pg_ctl", ["-D", data, "-l", log, "-o", options, "-w", "-t", "60", "start"])
  let stopped = false
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    stop: () => {
      if (stopped) return
      stopped = true
      try {
        run("pg_ctl", ["-D", data, "-m", "immediate", "-w", "stop"])
      } finally {
        rmSync(dir, { recursive: true, force: true })
      }
    }
  }
}

// Debian installs the server binaries off the PATH, under /usr/lib/postgresql/<version>/bin.
const findBin = (): string => {
  const root = "/usr/lib/postgresql"
  const versions = existsSync(root) ? readdirSync(root).sort((a, b) => Number(b) - Number(a)) : []
  for (const version of versions) {
    const bin = join(root, version, "bin")
    if (existsSync(join(bin, "pg_ctl")) && existsSync(join(bin, "initdb"))) return bin
  }
  for (const dir of (process.env.PATH ?? "").split(":")) {
    if (dir !== "" && existsSync(join(dir, "pg_ctl")) && existsSync(join(dir, "initdb"))) return dir
  }
  throw new Error("PostgreSQL server binaries (initdb, pg_ctl) not found: apt-get install -y postgresql")
}

const postgresUser = (): { readonly uid: number; readonly gid: number } => {
  const [uid, gid] = execFileSync("id", ["-u", "postgres"]).toString().trim().split("\n").concat(
    execFileSync("id", ["-g", "postgres"]).toString().trim()
  ).map(Number)
  return { uid, gid }
}

/** A port that was free a moment ago on 127.0.0.1. */
export const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = createServer()
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      server.close(() => typeof address === "object" && address !== null ? resolve(address.port) : reject())
    })
  })
