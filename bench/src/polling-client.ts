/**
 * The polling client of benchmark 3 (bench/src/freshness.ts): what a trader without push does to
 * learn about new NCTS messages. It cycles through its movements round-robin, one
 * `GET …/movements/departures/{id}/messages?receivedSince=<newest seen>` per movement, and
 * fetches every message it has not seen (`GET …/messages/{messageId}`, metadata + XML body) before
 * listing the next movement, so a message counts as stored only once its body is in hand.
 *
 * One token, one request at a time, paced like the hub's own HMRC queue (`spacingFor(rate)`:
 * 1000/rate ms plus the same margin), so it never exceeds HMRC's per-application limit; a 429 is
 * honoured (Retry-After) and the request repeated. It is deliberately generous to polling: the
 * movement ids are given (a real poller would also spend calls on GET /movements?updatedSince=),
 * and "stored" is an in-memory map, not a database write.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { spacingFor } from '@ctc-hub/queue';

export interface PolledMessage {
  movementId: string;
  messageId: string;
  messageType: string | undefined;
  /** HMRC's `received` (epoch ms). */
  received: number;
  /** When a list response first named it. */
  listedAt: number;
  /** When its body was fetched: the moment the poller could serve it. */
  storedAt: number;
}

export interface PollingClientOptions {
  /** HMRC's base URL (here the sandbox). */
  baseUrl: string;
  /** A user token of the poller's own application. */
  token: string;
  movementIds: readonly string[];
  /** Messages received before this are not looked for (the poller's starting mark). */
  since: Date;
  ratePerSecond: number;
  onStored?: (message: PolledMessage) => void;
}

export interface PollingCounts {
  list: number;
  fetch: number;
  /** 429s received (none expected: the poller paces itself). */
  throttled: number;
  /** Other non-2xx answers or network errors. */
  errors: number;
}

const ctcJson = 'application/vnd.hmrc.2.1+json';
const ctcJsonXml = 'application/vnd.hmrc.2.1+json-xml';

interface ListedMessage {
  id: string;
  received: string;
  type?: string;
}

export class PollingClient {
  readonly counts: PollingCounts = { list: 0, fetch: 0, throttled: 0, errors: 0 };
  readonly stored = new Map<string, PolledMessage>();
  /** Movements listed so far (cycles = listed / movementIds.length). */
  listed = 0;
  readonly spacingMs: number;
  private readonly since: Map<string, number>;
  private readonly known = new Set<string>();
  private readonly toFetch: Omit<PolledMessage, 'storedAt'>[] = [];
  private cursor = 0;
  private running = false;
  private loop: Promise<void> | undefined;
  private lastStart = 0;

  constructor(private readonly options: PollingClientOptions) {
    this.spacingMs = spacingFor(options.ratePerSecond);
    this.since = new Map(options.movementIds.map((id) => [id, options.since.getTime()]));
  }

  /** Seconds one full cycle through the movements takes at the paced rate (no fetches). */
  get cycleSeconds(): number {
    return (this.options.movementIds.length * this.spacingMs) / 1000;
  }

  get cycles(): number {
    return this.listed / this.options.movementIds.length;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
  }

  private async run(): Promise<void> {
    while (this.running) {
      const wait = this.lastStart + this.spacingMs - Date.now();
      if (wait > 0) await sleep(wait);
      if (!this.running) break;
      this.lastStart = Date.now();
      try {
        const next = this.toFetch[0];
        if (next !== undefined) {
          if (await this.fetchOne(next)) this.toFetch.shift();
        } else {
          const movementId = this.options.movementIds[this.cursor]!;
          if (await this.listOne(movementId)) {
            this.cursor = (this.cursor + 1) % this.options.movementIds.length;
            this.listed += 1;
          }
        }
      } catch {
        this.counts.errors += 1;
      }
    }
  }

  /** The response; 'retry' after a 429 (Retry-After waited out); 'failed' for anything else. */
  private async get(path: string, accept: string): Promise<Response | 'retry' | 'failed'> {
    const response = await fetch(`${this.options.baseUrl}${path}`, {
      headers: { accept, authorization: `Bearer ${this.options.token}` },
    });
    if (response.status === 429) {
      this.counts.throttled += 1;
      await response.body?.cancel();
      const seconds = Number(response.headers.get('retry-after') ?? '1');
      await sleep(Math.max(1, Number.isFinite(seconds) ? seconds : 1) * 1000);
      return 'retry';
    }
    if (!response.ok) {
      this.counts.errors += 1;
      await response.body?.cancel();
      return 'failed';
    }
    return response;
  }

  /** One list call; false after a 429 (repeat it). A failed call moves on (errors counts it). */
  private async listOne(movementId: string): Promise<boolean> {
    const since = new Date(this.since.get(movementId)!).toISOString();
    const query = new URLSearchParams({ receivedSince: since, count: '500' });
    this.counts.list += 1;
    const response = await this.get(
      `/customs/transits/movements/departures/${movementId}/messages?${query.toString()}`,
      ctcJson,
    );
    if (response === 'retry') return false;
    if (response === 'failed') return true;
    const listedAt = Date.now();
    const body = (await response.json()) as { messages: ListedMessage[] };
    let newest = this.since.get(movementId)!;
    // Newest first at HMRC; fetch oldest first.
    for (const message of [...body.messages].reverse()) {
      const received = Date.parse(message.received);
      newest = Math.max(newest, received);
      // receivedSince is inclusive: the newest one seen comes back on the next call.
      if (this.known.has(message.id)) continue;
      this.known.add(message.id);
      this.toFetch.push({
        movementId,
        messageId: message.id,
        messageType: message.type,
        received,
        listedAt,
      });
    }
    this.since.set(movementId, newest);
    return true;
  }

  /** One message fetch (metadata and XML body); false after a 429. A failure drops it. */
  private async fetchOne(message: Omit<PolledMessage, 'storedAt'>): Promise<boolean> {
    this.counts.fetch += 1;
    const response = await this.get(
      `/customs/transits/movements/departures/${message.movementId}/messages/${message.messageId}`,
      ctcJsonXml,
    );
    if (response === 'retry') return false;
    if (response === 'failed') return true;
    const body = (await response.json()) as { body?: string };
    if (typeof body.body !== 'string') {
      this.counts.errors += 1;
      return true;
    }
    const stored: PolledMessage = { ...message, storedAt: Date.now() };
    this.stored.set(message.messageId, stored);
    this.options.onStored?.(stored);
    return true;
  }
}
