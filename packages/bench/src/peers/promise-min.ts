/**
 * The JavaScript floor: the least a Promise batcher can do. Records and their
 * resolvers go on plain arrays; a batch goes when it is full or when the
 * window since its first record has passed (a `setTimeout`). No queue bound,
 * no one-at-a-time processing: batches run concurrently.
 */
import type { PromiseBatcher, PromisePeer } from "./types.ts"

class MinimalBatcher<Rec, Res> implements PromiseBatcher<Rec, Res> {
  private records: Array<Rec> = []
  private resolves: Array<(res: Res) => void> = []
  private rejects: Array<(error: unknown) => void> = []
  private timer: ReturnType<typeof setTimeout> | undefined = undefined
  private readonly process: (batch: ReadonlyArray<Rec>) => Promise<ReadonlyArray<Res>>
  private readonly max: number
  private readonly windowMs: number

  constructor(process: (batch: ReadonlyArray<Rec>) => Promise<ReadonlyArray<Res>>, max: number, windowMs: number) {
    this.process = process
    this.max = max
    this.windowMs = windowMs
  }

  readonly submit = (record: Rec): Promise<Res> =>
    new Promise<Res>((resolve, reject) => {
      this.records.push(record)
      this.resolves.push(resolve)
      this.rejects.push(reject)
      if (this.records.length >= this.max) this.flush()
      else if (this.records.length === 1) this.timer = setTimeout(this.flush, this.windowMs)
    })

  readonly submitMany = (records: ReadonlyArray<Rec>): Array<Promise<Res>> => records.map(this.submit)

  readonly flush = (): void => {
    if (this.timer !== undefined) clearTimeout(this.timer)
    this.timer = undefined
    if (this.records.length === 0) return
    const resolves = this.resolves
    const rejects = this.rejects
    const batch = this.records
    this.records = []
    this.resolves = []
    this.rejects = []
    this.process(batch).then(
      (results) => {
        for (let i = 0; i < resolves.length; i++) resolves[i](results[i])
      },
      (error) => {
        for (let i = 0; i < rejects.length; i++) rejects[i](error)
      }
    )
  }

  readonly close = async (): Promise<void> => this.flush()
}

export const promiseMin: PromisePeer = {
  kind: "promise",
  name: "promise-min",
  description: "minimal hand-written Promise batcher (~40 lines): arrays + setTimeout window; the JavaScript floor",
  bulk: true,
  make: async (process, options) => new MinimalBatcher(process, options.maxBatchSize, options.windowMs)
}
