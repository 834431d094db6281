// Risk retired: on a Redis Cluster a service checked only the node it happened to ask, so a
// replica without persistence (which becomes the primary of its slots after a failover) went
// unnoticed, and a QUEUE_PREFIX without a hash tag failed only at the first multi-key script.
// Runs a real Redis Cluster (3 primaries + 3 replicas); skipped, saying why, where the machine
// cannot start one.
import { StartupError } from '@ctc-hub/config';
import { createLogger } from '@ctc-hub/telemetry';
import { keySlot, RedisCluster, redisClusterUnavailable } from '@ctc-hub/testing';
import { Redis } from 'ioredis';
import { createRedis, waitForRedis } from './connections.js';
import { createQueue } from './queues.js';
import { RedisDurabilityGuard, type RedisSettings } from './redis-guard.js';

const logger = createLogger({ service: 'redis-cluster-test', level: 'silent' });
const unavailable = redisClusterUnavailable();
if (unavailable !== undefined) console.warn(`skipping the Redis Cluster tests: ${unavailable}`);
const clusterIt = unavailable === undefined ? it : it.skip;

let cluster: RedisCluster | undefined;
beforeAll(async () => {
  if (unavailable === undefined) cluster = await RedisCluster.start();
}, 60_000);
afterAll(async () => {
  await cluster?.destroy();
});

const settings = (overrides: Partial<RedisSettings> = {}): RedisSettings => ({
  REDIS_URL: 'redis://ignored:6379',
  REDIS_SENTINELS: [],
  REDIS_SENTINEL_NAME: 'ctc',
  REDIS_CLUSTER_NODES: cluster?.seeds ?? ['127.0.0.1:1'],
  REDIS_DURABILITY: undefined,
  REDIS_ACCEPTED_LOSS_SECONDS: 1,
  REDIS_STARTUP_TIMEOUT_SECONDS: 10,
  QUEUE_PREFIX: '{ctc}',
  ...overrides,
});

async function refusal(given: RedisSettings): Promise<string> {
  const error = await RedisDurabilityGuard.open(given, logger).then(
    (guard) => guard.close(),
    (thrown: unknown) => thrown,
  );
  expect(error).toBeInstanceOf(StartupError);
  return (error as StartupError).message;
}

it('refuses a QUEUE_PREFIX without a hash tag on a cluster, naming the fix', async () => {
  const message = await refusal(settings({ QUEUE_PREFIX: 'ctc' }));
  expect(message).toContain('QUEUE_PREFIX "ctc" has no hash tag');
  expect(message).toContain('QUEUE_PREFIX={ctc}');
});

clusterIt(
  'queues jobs on the cluster and checks every node, refusing one replica without persistence',
  async () => {
    const guard = await RedisDurabilityGuard.open(settings(), logger);
    expect(guard.verdict.state).toMatch(/appendfsync everysec.*\(all 6 cluster nodes\)/);
    guard.close();

    // BullMQ's multi-key scripts run on the cluster under the hash-tagged prefix.
    const connection = createRedis(
      { REDIS_URL: 'redis://ignored:6379', REDIS_CLUSTER_NODES: cluster!.seeds },
      'producer',
    );
    await waitForRedis(connection);
    const queue = createQueue('ingest', connection, '{ctc}');
    const job = await queue.add('probe', { n: 1 }, { jobId: 'probe-1' });
    expect(job.id).toBe('probe-1');
    expect((await queue.getJob('probe-1'))?.data).toEqual({ n: 1 });
    expect((await queue.getJobCounts('wait')).wait).toBe(1);
    await queue.close();
    connection.disconnect();

    // One replica loses its persistence: the service refuses, naming that node.
    const primary = await cluster!.primaryOf(keySlot('{ctc}'));
    const replicaPort = await (async () => {
      for (const node of cluster!.nodes) {
        if (node.port === primary) continue;
        const probe = new Redis(node.port, '127.0.0.1');
        const role = await probe.info('replication');
        probe.disconnect();
        if (/role:slave/.test(role)) return node.port;
      }
      throw new Error('no replica');
    })();
    const replica = new Redis(replicaPort, '127.0.0.1');
    await replica.config('SET', 'appendonly', 'no');
    try {
      const message = await refusal(settings());
      expect(message).toContain('no persistence (appendonly no');
      expect(message).toContain(`cluster node 127.0.0.1:${replicaPort}`);
    } finally {
      await replica.config('SET', 'appendonly', 'yes');
      replica.disconnect();
    }
  },
  60_000,
);
