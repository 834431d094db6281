import { MicroBatcher } from './micro-batcher.js';

describe('MicroBatcher', () => {
  it('groups concurrent adds into batches no larger than maxSize and answers each caller', async () => {
    const batches: number[][] = [];
    const batcher = new MicroBatcher<number, string>({
      maxSize: 3,
      maxWaitMs: 5,
      flush: async (items) => {
        batches.push(items);
        return items.map((item) => `done ${item}`);
      },
    });
    const results = await Promise.all([1, 2, 3, 4, 5].map((item) => batcher.add(item)));
    expect(results).toEqual(['done 1', 'done 2', 'done 3', 'done 4', 'done 5']);
    expect(batches).toEqual([
      [1, 2, 3],
      [4, 5],
    ]);
  });

  it('rejects every item of a batch whose flush failed, and keeps working afterwards', async () => {
    let fail = true;
    const batcher = new MicroBatcher<number, number>({
      maxSize: 10,
      maxWaitMs: 1,
      flush: async (items) => {
        if (fail) throw new Error('commit failed');
        return items;
      },
    });
    const failed = await Promise.allSettled([batcher.add(1), batcher.add(2)]);
    expect(failed.map((result) => result.status)).toEqual(['rejected', 'rejected']);
    fail = false;
    await expect(batcher.add(3)).resolves.toBe(3);
  });

  it('limits batches in flight and flushes the backlog when a slot frees', async () => {
    let running = 0;
    let maxRunning = 0;
    const batcher = new MicroBatcher<number, number>({
      maxSize: 2,
      maxWaitMs: 1,
      maxInFlight: 2,
      flush: async (items) => {
        running += 1;
        maxRunning = Math.max(maxRunning, running);
        await new Promise((resolve) => setTimeout(resolve, 10));
        running -= 1;
        return items;
      },
    });
    const results = await Promise.all(Array.from({ length: 11 }, (_, index) => batcher.add(index)));
    expect(results).toHaveLength(11);
    expect(maxRunning).toBe(2);
    await batcher.close();
    expect(batcher.size).toBe(0);
  });
});
