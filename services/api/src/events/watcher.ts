import { comparePositions, latestFeedPosition, type Db, type FeedPosition } from '@ctc-hub/db';
import type { Logger } from '@ctc-hub/telemetry';

export interface FeedWatcherOptions {
  /** Poll interval right after something new; doubled on every quiet poll up to the maximum. */
  minIntervalMs: number;
  maxIntervalMs: number;
}

/**
 * One poller per api process that learns when the change feed has grown, so that open streams
 * wait without querying: N streams cost one cheap query (the newest servable event, one index
 * step per partition) every 100 ms to 1 s, not N.
 *
 * Polling rather than LISTEN/NOTIFY: an event becomes servable only when every older
 * transaction has finished (see event-feed.ts), which a NOTIFY sent at the event's own commit
 * cannot tell, so streams would have to poll anyway; NOTIFY would also need a trigger or every
 * writer to send it, and takes a cluster-wide lock at commit on the ingest path's hot
 * transactions. The back-off keeps an idle hub at one query a second.
 *
 * It runs only while someone listens: the last unsubscribe clears its timer.
 */
export class FeedWatcher {
  /** The newest position known to be servable; only moves forward. */
  latest: FeedPosition | undefined;
  private readonly listeners = new Set<() => void>();
  private timer: NodeJS.Timeout | undefined;
  private polling = false;
  private delayMs: number;

  constructor(
    private readonly db: Db,
    private readonly logger: Logger,
    private readonly options: FeedWatcherOptions,
  ) {
    this.delayMs = options.minIntervalMs;
  }

  /** Calls `listener` whenever `latest` moves; returns the unsubscribe function. */
  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    if (this.listeners.size === 1) {
      this.delayMs = this.options.minIntervalMs;
      this.schedule(0);
    }
    return () => {
      this.listeners.delete(listener);
      if (this.listeners.size === 0 && this.timer !== undefined) {
        clearTimeout(this.timer);
        this.timer = undefined;
      }
    };
  }

  /** True while a poll is scheduled or in flight. */
  get running(): boolean {
    return this.timer !== undefined || this.polling;
  }

  private schedule(delayMs: number): void {
    if (this.timer !== undefined || this.polling || this.listeners.size === 0) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.poll();
    }, delayMs);
  }

  private async poll(): Promise<void> {
    this.polling = true;
    try {
      const latest = await latestFeedPosition(this.db);
      if (
        latest !== undefined &&
        (this.latest === undefined || comparePositions(latest, this.latest) > 0)
      ) {
        this.latest = latest;
        this.delayMs = this.options.minIntervalMs;
        for (const listener of [...this.listeners]) listener();
      } else {
        this.delayMs = Math.min(this.delayMs * 2, this.options.maxIntervalMs);
      }
    } catch (error) {
      // Streams keep their connections and heartbeats; they catch up when the database is back.
      this.logger.warn({ err: error }, 'event feed poll failed');
      this.delayMs = this.options.maxIntervalMs;
    } finally {
      this.polling = false;
      this.schedule(this.delayMs);
    }
  }
}
