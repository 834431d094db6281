// The path from PPNS to our receivers: a recording HTTP front door (a load balancer would sit
// here) that spreads pushes over the receivers and remembers what each notification was answered.
// After every 200 it checks that the notification really is queued (its ingest job in Redis) or
// already stored (Postgres): checker (d), "nothing answered 200 that could not be queued".
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface GatewayOptions {
  /** Base URLs of the receivers, e.g. http://127.0.0.1:4001 */
  receivers: string[];
  /** Resolves true when the notification is in Redis or Postgres; throws when it cannot tell. */
  isQueuedOrStored: (notificationId: string) => Promise<boolean>;
}

export class PpnsGateway {
  private server: http.Server | undefined;
  private next = 0;
  private readonly agent = new http.Agent({ keepAlive: false });
  private readonly pendingChecks = new Set<Promise<void>>();
  port = 0;
  /** notification id → number of 200 answers it got. */
  readonly acknowledged = new Map<string, number>();
  /** Answers by HTTP status ('error' = the receiver could not be reached). */
  readonly answers: Record<string, number> = {};
  /** Notifications answered 200 that were in neither Redis nor Postgres right after. */
  readonly ackedButMissing: string[] = [];
  /** 200s whose check could not run (Redis and Postgres both unreachable for long). */
  readonly unverified: string[] = [];
  checked = 0;
  /** 200 answers by receiver base URL. */
  readonly acceptedBy: Record<string, number> = {};

  constructor(private readonly options: GatewayOptions) {}

  get callbackUrl(): string {
    return `http://127.0.0.1:${this.port}/ppns/callback`;
  }

  async start(): Promise<void> {
    const server = http.createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => void this.forward(request, Buffer.concat(chunks), response));
      request.on('error', () => response.destroy());
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    this.port = (server.address() as AddressInfo).port;
    this.server = server;
  }

  /** Every answer with the time it came back, for measuring pauses. */
  readonly timeline: { at: number; status: string }[] = [];

  private count(status: string): void {
    this.answers[status] = (this.answers[status] ?? 0) + 1;
    this.timeline.push({ at: Date.now(), status });
  }

  private async forward(
    request: http.IncomingMessage,
    body: Buffer,
    response: http.ServerResponse,
  ): Promise<void> {
    const receivers = this.options.receivers;
    const target = new URL(request.url ?? '/', receivers[this.next++ % receivers.length]);
    let notificationId: string | undefined;
    try {
      notificationId = (JSON.parse(body.toString('utf8')) as { notificationId?: string })
        .notificationId;
    } catch {
      notificationId = undefined;
    }
    const headers = { ...request.headers, host: target.host, 'content-length': body.length };
    delete headers.connection;
    const upstream = http.request(target, {
      method: request.method,
      headers,
      agent: this.agent,
    });
    upstream.on('response', (answer) => {
      const parts: Buffer[] = [];
      answer.on('data', (chunk: Buffer) => parts.push(chunk));
      answer.on('end', () => {
        const status = answer.statusCode ?? 502;
        this.count(String(status));
        if (status === 200 && notificationId !== undefined && request.method === 'POST') {
          this.acknowledged.set(notificationId, (this.acknowledged.get(notificationId) ?? 0) + 1);
          this.acceptedBy[target.origin] = (this.acceptedBy[target.origin] ?? 0) + 1;
          this.verify(notificationId);
        }
        response.writeHead(status, {
          'content-type': answer.headers['content-type'] ?? 'application/json',
        });
        response.end(Buffer.concat(parts));
      });
      answer.on('error', () => response.destroy());
    });
    upstream.on('error', () => {
      // Receiver down or connection cut: what PPNS would see as a failed delivery.
      this.count('error');
      if (!response.headersSent) response.writeHead(502).end();
      else response.destroy();
    });
    upstream.end(body);
  }

  private verify(notificationId: string): void {
    const check = (async () => {
      const deadline = Date.now() + 60_000;
      for (;;) {
        try {
          const found = await this.options.isQueuedOrStored(notificationId);
          this.checked += 1;
          if (!found) this.ackedButMissing.push(notificationId);
          return;
        } catch {
          // Redis and Postgres both unreachable right now (a fault in progress): try again.
          if (Date.now() > deadline) {
            this.unverified.push(notificationId);
            return;
          }
          await new Promise((resolve) => setTimeout(resolve, 250));
        }
      }
    })();
    this.pendingChecks.add(check);
    void check.finally(() => this.pendingChecks.delete(check));
  }

  /** Resolves when every check of a 200 has run. */
  async checksDone(): Promise<void> {
    while (this.pendingChecks.size > 0) await Promise.all([...this.pendingChecks]);
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (server === undefined) return;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeAllConnections();
    await closed;
    this.agent.destroy();
  }
}
