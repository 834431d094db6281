import {
  comparePositions,
  feedEventJson,
  readEventFeed,
  type Db,
  type FeedEvent,
  type FeedPosition,
} from '@ctc-hub/db';
import type { Logger } from '@ctc-hub/telemetry';
import type { Response } from 'express';
import { ApiError } from '../http/errors.js';
import { FeedWatcher } from './watcher.js';

export interface EventStreamOptions {
  /** Open streams per process; beyond it, 503 with Retry-After. */
  maxStreams: number;
  /**
   * Open streams per API key and process, so one key cannot take every slot; beyond it, 429 with
   * Retry-After (the limit is the client's own). 0: no per-key limit.
   */
  maxStreamsPerKey: number;
  /** A comment line after this long without one, so proxies keep an idle stream open. */
  heartbeatMs: number;
  /** Events read per query. */
  pageSize: number;
  /** A client that reads nothing for this long while we wait to write is cut off. */
  stallTimeoutMs: number;
  /** The reconnection delay the stream advises (the SSE `retry:` field). */
  retryMs: number;
  pollMinMs: number;
  pollMaxMs: number;
}

export const defaultStreamOptions: Omit<
  EventStreamOptions,
  'maxStreams' | 'maxStreamsPerKey' | 'heartbeatMs'
> = {
  pageSize: 100,
  stallTimeoutMs: 60_000,
  retryMs: 2000,
  pollMinMs: 100,
  pollMaxMs: 1000,
};

/** What a test (or an operator) can observe about this process's streams. */
export interface StreamStats {
  open: number;
  /** Open streams per API key id. */
  openByKey: Record<string, number>;
  /** Heartbeat timers alive: one per open stream, none after they close. */
  heartbeats: number;
  watcherRunning: boolean;
}

interface OpenStream {
  closed: boolean;
  /** Wakes the stream's loop: new events known, or the client went away. */
  readonly wake: () => void;
}

/**
 * Server-Sent Events of the change feed. Each stream reads pages from its cursor, writes them
 * (`id:` is the event's cursor, so a client's Last-Event-ID resumes exactly after the last event
 * it received), and when it has caught up waits for the shared FeedWatcher instead of querying.
 *
 * Back-pressure: a write that fills the socket's buffer makes the stream wait for `drain` before
 * it reads more, so a slow client costs one page of memory, never a growing queue; one that
 * stops reading altogether is cut off after `stallTimeoutMs` and may reconnect where it was.
 */
export class EventStreams {
  private readonly open = new Set<OpenStream>();
  private readonly openByKey = new Map<string, number>();
  private readonly watcher: FeedWatcher;
  private heartbeats = 0;

  constructor(
    private readonly db: Db,
    private readonly logger: Logger,
    private readonly options: EventStreamOptions,
  ) {
    this.watcher = new FeedWatcher(db, logger, {
      minIntervalMs: options.pollMinMs,
      maxIntervalMs: options.pollMaxMs,
    });
  }

  stats(): StreamStats {
    return {
      open: this.open.size,
      openByKey: Object.fromEntries(this.openByKey),
      heartbeats: this.heartbeats,
      watcherRunning: this.watcher.running,
    };
  }

  /**
   * Serves one stream until the client goes away. Errors before the first byte (the key's share
   * or the whole house taken, a database that cannot resolve `now`) are thrown as HTTP errors;
   * later ones end the stream, and the client reconnects with its Last-Event-ID.
   */
  async serve(
    response: Response,
    start: FeedPosition | 'now',
    eoris: readonly string[] | undefined,
    keyId: string,
  ): Promise<void> {
    const keyStreams = this.openByKey.get(keyId) ?? 0;
    const perKey = this.options.maxStreamsPerKey;
    // The key's own share first: a key that holds its share is told so, even when the house is
    // also full, since closing its own streams is what it can do about it.
    if (perKey > 0 && keyStreams >= perKey) {
      response.setHeader('Retry-After', '5');
      throw new ApiError(
        429,
        'KEY_LIMIT_REACHED',
        `This API key already has ${perKey} event streams open on this server, the most it may ` +
          'have at once: close one, or read GET /v1/events',
        { limit: 'event-streams', max: perKey },
      );
    }
    if (this.open.size >= this.options.maxStreams) {
      response.setHeader('Retry-After', '5');
      throw new ApiError(
        503,
        'SERVICE_UNAVAILABLE',
        'Too many open event streams on this server; retry shortly or read GET /v1/events',
      );
    }
    let wakeUp: (() => void) | undefined;
    let woken = false;
    const stream: OpenStream = {
      closed: false,
      wake: () => {
        woken = true;
        wakeUp?.();
      },
    };
    // Counted before the first await, so concurrent requests cannot all slip under the limits.
    this.open.add(stream);
    this.openByKey.set(keyId, keyStreams + 1);
    let heartbeat: NodeJS.Timeout | undefined;
    let unsubscribe: (() => void) | undefined;
    const closed = new Promise<void>((resolve) =>
      response.once('close', () => {
        stream.closed = true;
        stream.wake();
        resolve();
      }),
    );

    try {
      let cursor = start === 'now' ? await this.now() : start;
      if (stream.closed) return;
      response.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache, no-transform',
        connection: 'keep-alive',
        // nginx and similar proxies buffer responses unless told not to.
        'x-accel-buffering': 'no',
      });
      response.socket?.setNoDelay(true);
      response.write(`retry: ${this.options.retryMs}\n\n`);
      heartbeat = setInterval(() => {
        // Skipped while the client is not reading: the comment would only queue up.
        if (!response.writableNeedDrain) response.write(': heartbeat\n\n');
      }, this.options.heartbeatMs);
      this.heartbeats += 1;
      unsubscribe = this.watcher.subscribe(stream.wake);

      while (!stream.closed) {
        const page = await readEventFeed(this.db, {
          after: cursor,
          limit: this.options.pageSize,
          eoris,
        });
        for (const event of page.events) {
          if (stream.closed) return;
          if (!response.write(frame(event))) await this.drained(response, closed);
        }
        cursor = page.next;
        if (!page.caughtUp) continue;
        // Caught up: sleep until the watcher knows of something past our cursor.
        while (!stream.closed) {
          const latest = this.watcher.latest;
          if (latest !== undefined && comparePositions(latest, cursor) > 0) break;
          if (!woken) await new Promise<void>((resolve) => (wakeUp = resolve));
          wakeUp = undefined;
          woken = false;
        }
      }
    } catch (error) {
      if (!response.headersSent) throw error;
      this.logger.warn({ err: error }, 'event stream ended by an error');
      response.end();
    } finally {
      if (heartbeat !== undefined) {
        clearInterval(heartbeat);
        this.heartbeats -= 1;
      }
      unsubscribe?.();
      this.open.delete(stream);
      const left = (this.openByKey.get(keyId) ?? 1) - 1;
      if (left > 0) this.openByKey.set(keyId, left);
      else this.openByKey.delete(keyId);
    }
  }

  private async now(): Promise<FeedPosition> {
    return (await readEventFeed(this.db, { after: 'now', limit: 1 })).next;
  }

  /** Resolves when the client has read enough for us to write again, or has gone. */
  private async drained(response: Response, closed: Promise<void>): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    let onDrain: (() => void) | undefined;
    const stalled = await Promise.race([
      new Promise<boolean>((resolve) => {
        onDrain = () => resolve(false);
        response.once('drain', onDrain);
        timer = setTimeout(() => resolve(true), this.options.stallTimeoutMs);
      }),
      closed.then(() => false),
    ]);
    clearTimeout(timer);
    if (onDrain !== undefined) response.off('drain', onDrain);
    if (stalled) {
      this.logger.info('event stream client stopped reading; closing it');
      response.destroy();
    }
  }
}

/** One SSE event. JSON has no raw newlines, so `data:` is one line. */
function frame(event: FeedEvent): string {
  return `id: ${event.cursor}\nevent: ${event.kind}\ndata: ${JSON.stringify(feedEventJson(event))}\n\n`;
}
