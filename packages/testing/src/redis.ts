import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { requireEnv } from './database.js';

export interface TestRedis {
  url: string;
  /** BullMQ prefix unique to this test file (hash-tagged, as on Redis Cluster). */
  prefix: string;
  /** Deletes every key under the prefix. */
  cleanup: () => Promise<void>;
}

export async function deleteKeysWithPrefix(url: string, prefix: string): Promise<void> {
  const redis = new Redis(url, { maxRetriesPerRequest: 1 });
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) await redis.unlink(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}

export function createTestRedis(): TestRedis {
  const url = requireEnv('CTC_TEST_REDIS_URL');
  const prefix = `{t${randomBytes(5).toString('hex')}}`;
  return { url, prefix, cleanup: () => deleteKeysWithPrefix(url, prefix) };
}
