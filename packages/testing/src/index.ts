export { canConnect, databaseUrl, resolveInfra, type TestInfra } from './infra.js';
export {
  createTemplateDatabase,
  createTestDatabase,
  dropDatabase,
  requireEnv,
  type TestDatabase,
} from './database.js';
export { createTestRedis, deleteKeysWithPrefix, type TestRedis } from './redis.js';
export { TcpProxy } from './tcp-proxy.js';
export { waitFor } from './wait.js';
export { fixturePath, fixturesDir, repoRoot } from './paths.js';
export {
  hex16,
  ppnsEnvelope,
  pushToCallback,
  testBoxId,
  testPushSecret,
  v2MessageReceived,
  type EnvelopeOptions,
} from './ppns-fixtures.js';
export { openEventStream, type SseConnection, type SseEvent } from './sse.js';
export { freePort } from './ports.js';
export { durableRedisConfig, RedisServer } from './redis-server.js';
export { keySlot, RedisCluster, redisClusterUnavailable } from './redis-cluster.js';
export {
  hmrcOasDeviations,
  validateHmrcResponse,
  type HmrcAnswer,
  type HmrcApiVersion,
} from './hmrc-oas.js';
