import {
  assessDurability,
  describeRisk,
  snapshotWindowSeconds,
  type DurabilityFacts,
} from './durability.js';

const facts = (overrides: Partial<Extract<DurabilityFacts, { readable: true }>> = {}) =>
  ({
    readable: true,
    appendonly: true,
    appendfsync: 'everysec',
    save: '',
    maxmemoryPolicy: 'noeviction',
    ...overrides,
  }) as const;
const check = { mode: undefined, acceptedLossSeconds: 1 };

describe('snapshotWindowSeconds', () => {
  it('is the shortest rule that snapshots a single write', () => {
    expect(snapshotWindowSeconds('3600 1 300 100 60 10000')).toBe(3600);
    expect(snapshotWindowSeconds('900 1 300 1')).toBe(300);
  });

  it('is unbounded when every rule needs several writes', () => {
    expect(snapshotWindowSeconds('60 10000')).toBeUndefined();
    expect(snapshotWindowSeconds('')).toBeUndefined();
  });
});

describe('assessDurability', () => {
  it('accepts AOF everysec with noeviction, as production runs', () => {
    const verdict = assessDurability(facts(), check);
    expect(verdict).toMatchObject({ mode: 'check', acceptable: true, risks: [] });
    expect(verdict.state).toContain('appendfsync everysec');
  });

  it('refuses a Redis without persistence, naming the settings and the fix', () => {
    const verdict = assessDurability(facts({ appendonly: false, save: '' }), check);
    expect(verdict.acceptable).toBe(false);
    expect(verdict.risks.map(describeRisk)).toEqual([
      expect.stringMatching(
        /appendonly no, save "".*appendonly yes.*REDIS_DURABILITY=allow-volatile/,
      ),
    ]);
  });

  it('refuses every eviction policy but noeviction, whatever the persistence', () => {
    for (const policy of ['allkeys-lru', 'volatile-lru', 'allkeys-random', 'volatile-ttl']) {
      const verdict = assessDurability(facts({ maxmemoryPolicy: policy }), check);
      expect(verdict.acceptable).toBe(false);
      expect(verdict.risks.map(describeRisk)).toEqual([
        expect.stringContaining(`maxmemory-policy is ${policy}`),
      ]);
    }
  });

  it('states the window of RDB snapshots and accepts it only when REDIS_ACCEPTED_LOSS_SECONDS covers it', () => {
    const rdb = facts({ appendonly: false, save: '3600 1 300 100 60 10000' });
    const refused = assessDurability(rdb, check);
    expect(refused.acceptable).toBe(false);
    expect(describeRisk(refused.risks[0]!)).toMatch(
      /up to 3600 s.*REDIS_ACCEPTED_LOSS_SECONDS=3600/,
    );
    expect(assessDurability(rdb, { mode: 'check', acceptedLossSeconds: 3600 }).acceptable).toBe(
      true,
    );
    const unbounded = assessDurability(facts({ appendonly: false, save: '60 10000' }), {
      mode: 'check',
      acceptedLossSeconds: 100_000,
    });
    expect(unbounded.acceptable).toBe(false);
    expect(describeRisk(unbounded.risks[0]!)).toMatch(/may never be saved/);
  });

  it('counts appendfsync no as the OS flush interval and always as nothing', () => {
    expect(assessDurability(facts({ appendfsync: 'no' }), check).acceptable).toBe(false);
    expect(
      assessDurability(facts({ appendfsync: 'no' }), { mode: 'check', acceptedLossSeconds: 30 })
        .acceptable,
    ).toBe(true);
    expect(
      assessDurability(facts({ appendfsync: 'always' }), { mode: 'check', acceptedLossSeconds: 0 })
        .acceptable,
    ).toBe(true);
    expect(
      describeRisk(assessDurability(facts(), { mode: 'check', acceptedLossSeconds: 0 }).risks[0]!),
    ).toMatch(/appendfsync always/);
  });

  it('refuses a Redis that denies CONFIG GET unless the operator states its guarantee', () => {
    const denied = {
      readable: false,
      denied: 'ERR unknown command',
      maxmemoryPolicy: undefined,
    } as const;
    const refused = assessDurability(denied, check);
    expect(refused.acceptable).toBe(false);
    expect(describeRisk(refused.risks[0]!)).toMatch(/REDIS_DURABILITY=assume-durable/);
    const assumed = assessDurability(denied, { mode: 'assume-durable', acceptedLossSeconds: 1 });
    expect(assumed.acceptable).toBe(true);
    expect(assumed.state).toContain('[REDIS_DURABILITY=assume-durable]');
  });

  it('takes the operator word on persistence, never on an eviction policy it can see', () => {
    const assume = { mode: 'assume-durable', acceptedLossSeconds: 1 } as const;
    expect(assessDurability(facts({ appendonly: false }), assume).acceptable).toBe(true);
    expect(
      assessDurability(
        { readable: false, denied: 'NOPERM', maxmemoryPolicy: 'allkeys-lru' },
        assume,
      ).acceptable,
    ).toBe(false);
  });

  it('runs anything under allow-volatile but still names every risk', () => {
    const verdict = assessDurability(facts({ appendonly: false, maxmemoryPolicy: 'allkeys-lru' }), {
      mode: 'allow-volatile',
      acceptedLossSeconds: 1,
    });
    expect(verdict.acceptable).toBe(true);
    expect(verdict.risks).toHaveLength(2);
  });
});
