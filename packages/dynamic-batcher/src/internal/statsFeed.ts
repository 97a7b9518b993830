/**
 * The snapshots behind `statsChanges`: one per settled batch while some
 * stream listens, then the final one when the batcher stops.
 */
import type { Take } from "effect"
import { Effect, Exit, PubSub } from "effect"
import * as Channel from "effect/Channel"
import * as Stream from "effect/Stream"
import type { BatchStats } from "../BatchStats.ts"

/** What the feed reads its snapshots from (the engine). */
export interface StatsSource {
  snapshot(): BatchStats
}

/**
 * A sliding `PubSub` of snapshots with its own count of listening streams.
 * That count, not the `PubSub`'s map of waiting subscribers, decides whether
 * a batch publishes a snapshot: the map holds only subscribers waiting right
 * now, so one busy with an earlier snapshot would miss the next.
 */
export class StatsFeed {
  private readonly updates: PubSub.PubSub<Take.Take<BatchStats>>
  private listeners: number
  constructor(updates: PubSub.PubSub<Take.Take<BatchStats>>) {
    this.updates = updates
    this.listeners = 0
  }

  /** Publishes the source's snapshot if some stream listens. */
  publish(source: StatsSource): void {
    if (this.listeners > 0) PubSub.publishUnsafe(this.updates, [source.snapshot()])
  }

  /**
   * Publishes the last snapshot and ends the feed. Ended, not shut down: a
   * listener still gets every snapshot it has not taken yet, then its stream ends.
   */
  end(source: StatsSource): void {
    this.publish(source)
    PubSub.endUnsafe(this.updates, Exit.void)
  }

  /**
   * The current snapshot, then every published one, ending with the feed.
   * Subscribed before the current snapshot is read: a batch that settles in
   * between is in both, rather than in neither.
   */
  changes(source: StatsSource): Stream.Stream<BatchStats> {
    const subscribe = Effect.acquireRelease(
      Effect.map(PubSub.subscribe(this.updates), (subscription) => {
        this.listeners++
        return subscription
      }),
      () =>
        Effect.sync(() => {
          this.listeners--
        })
    )
    return Stream.unwrap(Effect.map(subscribe, (subscription) =>
      Stream.concat(
        Stream.fromEffect(Effect.sync(() => source.snapshot())),
        Stream.fromChannel(Channel.fromEffectTake(PubSub.take(subscription)))
      )))
  }
}

/** A feed with room for the 16 latest snapshots a listener has not taken yet. */
export const makeStatsFeed: Effect.Effect<StatsFeed> = Effect.map(
  PubSub.sliding<Take.Take<BatchStats>>(16),
  (updates) => new StatsFeed(updates)
)
