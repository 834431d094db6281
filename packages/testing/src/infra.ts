import net from 'node:net';

/**
 * Where tests find PostgreSQL and Redis, in this order:
 *  1. TEST_DATABASE_URL / TEST_REDIS_URL, or DATABASE_URL / REDIS_URL (a server-level URL is
 *     enough: each test file creates its own database on it);
 *  2. the local servers on 127.0.0.1:5432 and :6379, when they answer;
 *  3. containers started with testcontainers (needs a Docker engine).
 * The Jest global setup resolves this once and exports CTC_TEST_* for the test workers.
 */
export interface TestInfra {
  /** Postgres URL whose path is ignored; test databases are created next to it. */
  postgresUrl: string;
  redisUrl: string;
  /** Stops containers we started (no-op for servers we found). */
  stop: () => Promise<void>;
}

export function canConnect(host: string, port: number, timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

async function reachable(url: string): Promise<boolean> {
  const parsed = new URL(url);
  const defaultPort = parsed.protocol.startsWith('redis') ? 6379 : 5432;
  return canConnect(parsed.hostname, Number(parsed.port || defaultPort));
}

export async function resolveInfra(env: NodeJS.ProcessEnv = process.env): Promise<TestInfra> {
  const stops: (() => Promise<void>)[] = [];
  let postgresUrl =
    env.TEST_DATABASE_URL ?? env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
  let redisUrl = env.TEST_REDIS_URL ?? env.REDIS_URL ?? 'redis://127.0.0.1:6379';

  if (!(await reachable(postgresUrl))) {
    const { PostgreSqlContainer } = await import('@testcontainers/postgresql');
    const container = await new PostgreSqlContainer('postgres:15-alpine')
      .withUsername('postgres')
      .withPassword('postgres')
      .start();
    postgresUrl = container.getConnectionUri();
    stops.push(async () => {
      await container.stop();
    });
  }
  if (!(await reachable(redisUrl))) {
    const { RedisContainer } = await import('@testcontainers/redis');
    const container = await new RedisContainer('redis:7-alpine').start();
    redisUrl = container.getConnectionUrl();
    stops.push(async () => {
      await container.stop();
    });
  }
  return {
    postgresUrl,
    redisUrl,
    stop: async () => {
      await Promise.all(stops.map((stop) => stop()));
    },
  };
}

/** The URL of database `name` on the server of `serverUrl`. */
export function databaseUrl(serverUrl: string, name: string): string {
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return url.toString();
}
