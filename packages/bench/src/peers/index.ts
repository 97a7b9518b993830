/** Every peer, in table order. A new peer is one file plus one line here. */
import { dataloaderTick, dataloaderWindow } from "./dataloader.ts"
import { effectFloor } from "./effect-floor.ts"
import { oursPromise } from "./ours-promise.ts"
import {
  oursFull,
  oursFullConcurrent,
  oursIdle,
  oursIdleConcurrent,
  oursKeyed,
  oursPrioritiesDeadlines,
  oursRecovery,
  w6Peers
} from "./ours.ts"
import { promiseMin } from "./promise-min.ts"
import { requestResolver } from "./request-resolver.ts"
import { serialLoop } from "./serial-loop.ts"
import type { Peer } from "./types.ts"

export const peers: ReadonlyArray<Peer> = [
  promiseMin,
  effectFloor,
  requestResolver,
  dataloaderWindow,
  dataloaderTick,
  oursFull,
  oursIdle,
  oursFullConcurrent,
  oursIdleConcurrent,
  oursKeyed,
  oursPrioritiesDeadlines,
  oursRecovery,
  oursPromise,
  serialLoop,
  ...w6Peers
]

export const peerByName = (name: string): Peer => {
  const peer = peers.find((p) => p.name === name)
  if (peer === undefined) throw new Error(`unknown peer ${name}; known: ${peers.map((p) => p.name).join(", ")}`)
  return peer
}
