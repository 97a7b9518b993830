/**
 * Throughput across processes: PostgreSQL, 3 runners and 2 client-only
 * producers on 127.0.0.1, 6 keys, no runner killed. The producers read
 * `PER_KEY`, `DURABLE` (half, all, none) and `CHUNK` (0: one submit per
 * record; n: submitAll of n records) from the environment.
 *
 *   DURABLE=none CHUNK=64 PER_KEY=3000 pnpm --filter effect-dynamic-batcher-cluster throughput:cluster
 */
import { runLocalCluster } from "./cluster.ts"

const main = async () => {
  const result = await runLocalCluster({
    keys: ["a", "b", "c", "d", "e", "f"],
    perKey: Number(process.env.PER_KEY ?? "1000")
  })
  for (const p of result.producers) {
    console.log(`producer ${p.producer}: ${p.ok}/${p.total} ok in ${p.seconds} s = ${p.perSecond} records/s`)
  }
  for (const [runner, stats] of result.runners) {
    console.log(`runner ${runner}: ${stats.batches} batches, ${stats.records} records, keys ${stats.keys}`)
  }
}

main().catch((error) => {
  console.error(error)
  process.exitCode = 1
})
