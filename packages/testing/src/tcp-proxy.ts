import net from 'node:net';

/**
 * A TCP proxy in front of a real server (Redis, Postgres) for fault injection: `stop()` closes
 * the listener and resets every connection (the server "went down"), `start()` brings it back on
 * the same port, and `blackhole()` keeps connections open but drops all bytes (unreachable,
 * not refused). Lets a test take "Redis" away from one component without touching the shared
 * server other test files use.
 */
export class TcpProxy {
  private server: net.Server | undefined;
  private readonly sockets = new Set<net.Socket>();
  private blackholed = false;
  port = 0;

  constructor(
    private readonly targetHost: string,
    private readonly targetPort: number,
  ) {}

  static forUrl(url: string): TcpProxy {
    const parsed = new URL(url);
    const defaultPort = parsed.protocol.startsWith('redis') ? 6379 : 5432;
    return new TcpProxy(parsed.hostname, Number(parsed.port || defaultPort));
  }

  /** `url` with host and port replaced by the proxy's. */
  rewrite(url: string): string {
    const parsed = new URL(url);
    parsed.hostname = '127.0.0.1';
    parsed.port = String(this.port);
    return parsed.toString();
  }

  async start(): Promise<void> {
    const server = net.createServer((client) => {
      if (this.blackholed) {
        this.track(client);
        client.on('data', () => undefined);
        return;
      }
      const upstream = net.connect({ host: this.targetHost, port: this.targetPort });
      this.track(client);
      this.track(upstream);
      client.on('data', (chunk) => {
        if (!this.blackholed) upstream.write(chunk);
      });
      upstream.on('data', (chunk) => {
        if (!this.blackholed) client.write(chunk);
      });
      const close = () => {
        client.destroy();
        upstream.destroy();
      };
      client.on('close', close);
      upstream.on('close', close);
      client.on('error', close);
      upstream.on('error', close);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.port = (server.address() as net.AddressInfo).port;
    this.server = server;
  }

  /** Refuses new connections and resets existing ones. */
  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const socket of this.sockets) socket.resetAndDestroy();
    this.sockets.clear();
    if (server !== undefined) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  blackhole(on: boolean): void {
    this.blackholed = on;
  }

  private track(socket: net.Socket): void {
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
    socket.on('error', () => undefined);
  }
}
