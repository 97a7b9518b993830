/**
 * `pnpm demo:cluster`: starts PostgreSQL, three runners and two producers on
 * 127.0.0.1, prints each runner's batches and the throughput, kills the
 * runner hosting the most keys once 40% of the records are done, and shows
 * where its keys went.
 * Bounded: 2 producers x 6 keys x PER_KEY records (default 1,000), and every
 * process is killed after 300 s at the latest.
 */
import { type Event, runLocalCluster } from "./cluster.ts"

const perKey = Number(process.env.PER_KEY ?? "1000")
const keys = ["model-a", "model-b", "model-c", "tenant-1", "tenant-2", "tenant-3"]
const t0 = Date.now()
const at = () => `${((Date.now() - t0) / 1000).toFixed(1).padStart(5)}s`
const last = new Map<string, Event>()

const print = (event: Event) => {
  switch (event.event) {
    case "ready":
      return console.log(`${at()}  runner ${event.runner} (pid ${event.pid}) ready`)
    case "stats": {
      const before = last.get(event.runner!)
      last.set(event.runner!, event)
      const batches = (event.batches as number) - ((before?.batches as number | undefined) ?? 0)
      const records = (event.records as number) - ((before?.records as number | undefined) ?? 0)
      if (batches === 0) return
      return console.log(
        `${at()}  runner ${event.runner}: ${batches} batches, ${records} records (avg ${
          (records / batches).toFixed(1)
        }/batch), keys ${(event.keys as Array<string>).join(" ")}`
      )
    }
    case "killed":
      return console.log(
        `${at()}  >>> killed runner ${event.runner} (pid ${event.pid}, SIGKILL), it hosted: ${
          (event.keys as Array<string>).join(" ")
        }`
      )
    case "done":
      return console.log(
        `${at()}  producer ${event.producer} done: ${event.ok}/${event.total} ok, ${event.unavailable} unavailable, ${event.perSecond} records/s`
      )
  }
}

const main = async () => {
  console.log(`starting PostgreSQL, 3 runners, 2 producers (${keys.length} keys x ${perKey} records each)`)
  const result = await runLocalCluster({ keys, perKey, killAt: 0.4, onEvent: print })
  console.log("\nwho ran each key (from the results):")
  const byKey = new Map<string, Set<string>>()
  for (const o of result.outcomes) {
    if (o.runner !== undefined) byKey.set(o.key, (byKey.get(o.key) ?? new Set()).add(o.runner))
  }
  for (const [key, runners] of byKey) console.log(`  ${key}: ${[...runners].sort().join(", ")}`)
  const durable = result.outcomes.filter((o) => o.durable)
  const volatile = result.outcomes.filter((o) => !o.durable)
  const counts = new Map<string, number>()
  for (const row of result.processed) counts.set(row.record_id, (counts.get(row.record_id) ?? 0) + 1)
  const twice = [...counts.values()].filter((n) => n > 1).length
  console.log(`\ndurable:     ${durable.filter((o) => o.outcome === "ok").length}/${durable.length} completed`)
  console.log(
    `non-durable: ${volatile.filter((o) => o.outcome === "ok").length}/${volatile.length} completed, ${
      volatile.filter((o) => o.outcome === "unavailable").length
    } failed with BatcherUnavailableError`
  )
  console.log(`records committed twice: ${twice}`)
  console.log(`total ${((Date.now() - t0) / 1000).toFixed(1)} s`)
}

main().catch((error) => {
  console.error(error)
  process.exitCode = 1
})
