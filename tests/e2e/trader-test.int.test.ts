// HMRC's Trader Test played locally: each scenario of HMRC's phase 5 trader test pack, sent with
// the pack's own bodies through ctc-hub's /v1 routes, reaches the sandbox, which answers as
// HMRC's Trader Test does (from the content submitted, plus the officer's manual steps where
// HMRC plays them by hand); the NCTS messages come back by PPNS push, and ctc-hub shows the
// status a user would expect, in the submission view and in the change feed.
import { waitFor } from '@ctc-hub/testing';
import { startE2E, traderEori, type E2E } from './support.js';
import { packBody } from './trader-test-support.js';

let e2e: E2E;
beforeAll(async () => {
  // Steps long enough for a test to take an officer's decision before the release (5 steps).
  e2e = await startE2E({ SANDBOX_NCTS_STEP_MS: '120' });
}, 60_000);
afterAll(async () => {
  await e2e?.stop();
});

type Kind = 'departure' | 'arrival';
const collection = (kind: Kind) => (kind === 'departure' ? 'departures' : 'arrivals');

async function submit(path: string, body: string): Promise<{ movementId: string }> {
  const response = await fetch(`${e2e.stack.apiUrl}${path}`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${e2e.stack.apiKey}`,
      'content-type': 'application/xml',
      'x-trader-eori': traderEori,
    },
    body,
  });
  const created = (await response.json()) as { submissionId?: string };
  expect(response.status).toBe(202);
  return waitFor(
    async () => {
      const { body: view } = await e2e.api(`/v1/submissions/${created.submissionId}`);
      if (['rejected', 'failed'].includes(view.status))
        throw new Error(`submission ${view.status}: ${JSON.stringify(view)}`);
      if (view.status !== 'accepted') return undefined;
      if (!submissionOf.has(view.movementId)) submissionOf.set(view.movementId, view.submissionId);
      return { movementId: view.movementId as string };
    },
    { what: `submission ${created.submissionId} accepted`, timeoutMs: 20_000 },
  );
}

/** The first submission of each movement (its declaration or arrival notification). */
const submissionOf = new Map<string, string>();

const declare = (body: string) => submit('/v1/departures', body);
const followUp = (kind: Kind, movementId: string, body: string) =>
  submit(`/v1/${collection(kind)}/${movementId}/messages`, body);
const officer = (movementId: string, action: string) =>
  e2e.stack.sandbox!.controls.officer(movementId, action as never);
const mrnOf = (movementId: string) => e2e.stack.sandbox!.controls.movement(movementId)!.mrn!;

/** The movement's messages oldest first, once there are `count` of them. */
async function flow(kind: Kind, movementId: string, count: number): Promise<string[]> {
  const messages = await e2e.waitForMessages(kind, movementId, count);
  return [...messages]
    .sort((a, b) => Date.parse(a.received) - Date.parse(b.received))
    .map((message) => message.type as string);
}

/** The status ctc-hub derived, as /v1/submissions shows it, once it is `expected`. */
async function statusOf(kind: Kind, movementId: string, expected: string): Promise<string> {
  const status = async () => {
    const { body: view } = await e2e.api(`/v1/submissions/${submissionOf.get(movementId)}`);
    return view.movement?.status as string | undefined;
  };
  try {
    return await waitFor(async () => ((await status()) === expected ? expected : undefined), {
      what: `${kind} ${movementId} status ${expected}`,
      timeoutMs: 15_000,
    });
  } catch {
    return (await status()) ?? 'none';
  }
}

/** Every status the change feed announced for the movement, in order. */
async function feedStatuses(movementId: string): Promise<string[]> {
  const statuses: string[] = [];
  let after: string | undefined;
  for (;;) {
    const { body } = await e2e.api(`/v1/events?limit=500${after ? `&after=${after}` : ''}`);
    for (const event of body.events)
      if (event.kind === 'movement.status_changed' && event.movementId === movementId)
        statuses.push(event.data.to);
    if (body.events.length < 500) return statuses;
    after = body.next;
  }
}

describe('departures', () => {
  it('DSGB1 simplified declaration: IE928, IE028, IE029 → released', async () => {
    const { movementId } = await declare(packBody('GB', 'DSGB1', '01-'));
    expect(await flow('departure', movementId, 4)).toEqual(['IE015', 'IE928', 'IE028', 'IE029']);
    expect(await statusOf('departure', movementId, 'released')).toBe('released');
    expect(await feedStatuses(movementId)).toContain('mrn_allocated');
  });

  it('DNGB9 invalid guarantee (a GB office, an XI guarantee): IE055, IE051 → not_released', async () => {
    const { movementId } = await declare(packBody('GB', 'DNGB9', '01-'));
    expect(await flow('departure', movementId, 5)).toEqual([
      'IE015',
      'IE928',
      'IE028',
      'IE055',
      'IE051',
    ]);
    expect(await statusOf('departure', movementId, 'not_released')).toBe('not_released');
    expect(await feedStatuses(movementId)).toContain('guarantee_invalid');
  });

  it('DSGB6/7 control by the office: satisfactory → released, unsatisfactory → not_released', async () => {
    const good = await declare(packBody('GB', 'DSGB6', '01-'));
    officer(good.movementId, 'control-satisfactory');
    const bad = await declare(packBody('GB', 'DSGB7', '01-'));
    officer(bad.movementId, 'control-unsatisfactory');
    expect(await flow('departure', good.movementId, 5)).toEqual([
      'IE015',
      'IE928',
      'IE028',
      'IE060',
      'IE029',
    ]);
    expect(await flow('departure', bad.movementId, 5)).toEqual([
      'IE015',
      'IE928',
      'IE028',
      'IE060',
      'IE051',
    ]);
    expect(await statusOf('departure', good.movementId, 'released')).toBe('released');
    expect(await feedStatuses(good.movementId)).toContain('under_control');
    expect(await statusOf('departure', bad.movementId, 'not_released')).toBe('not_released');
  });

  it('DSGB4 cancellation before release: IE014 → IE009 → invalidated', async () => {
    const { movementId } = await declare(packBody('GB', 'DSGB4', '01-'));
    officer(movementId, 'hold');
    await flow('departure', movementId, 3);
    await followUp(
      'departure',
      movementId,
      packBody('GB', 'DSGB4', '03-', { mrn: mrnOf(movementId) }),
    );
    expect(await flow('departure', movementId, 5)).toEqual([
      'IE015',
      'IE928',
      'IE028',
      'IE014',
      'IE009',
    ]);
    expect(await statusOf('departure', movementId, 'invalidated')).toBe('invalidated');
  });

  it('DSGB5 cancellation after release: IE014 → IE056 (014), still released', async () => {
    const { movementId } = await declare(packBody('GB', 'DSGB5', '01-'));
    await flow('departure', movementId, 4);
    await followUp(
      'departure',
      movementId,
      packBody('GB', 'DSGB5', '04-', { mrn: mrnOf(movementId) }),
    );
    expect(await flow('departure', movementId, 6)).toEqual([
      'IE015',
      'IE928',
      'IE028',
      'IE029',
      'IE014',
      'IE056',
    ]);
    expect(await statusOf('departure', movementId, 'released')).toBe('released');
  });

  it('DSGB8 the office of departure cancels after release: IE009 → invalidated', async () => {
    const { movementId } = await declare(packBody('GB', 'DSGB8', '01-'));
    officer(movementId, 'invalidate');
    expect(await flow('departure', movementId, 5)).toEqual([
      'IE015',
      'IE928',
      'IE028',
      'IE029',
      'IE009',
    ]);
    expect(await statusOf('departure', movementId, 'invalidated')).toBe('invalidated');
  });

  it('DSGB10 amendment before release: IE013 → IE004, then IE029 → released', async () => {
    const { movementId } = await declare(packBody('GB', 'DSGB10', '01-'));
    officer(movementId, 'hold');
    await flow('departure', movementId, 3);
    await followUp('departure', movementId, packBody('GB', 'DSGB10', '03- POST IE013'));
    expect(await flow('departure', movementId, 6)).toEqual([
      'IE015',
      'IE928',
      'IE028',
      'IE013',
      'IE004',
      'IE029',
    ]);
    expect(await statusOf('departure', movementId, 'released')).toBe('released');
  });

  it('PSGB1 pre-lodged declaration: IE928, then IE170 → IE028, IE029 → released', async () => {
    const { movementId } = await declare(packBody('GB', 'PSGB1', '01-'));
    expect(await flow('departure', movementId, 2)).toEqual(['IE015', 'IE928']);
    expect(await statusOf('departure', movementId, 'acknowledged')).toBe('acknowledged');
    await followUp('departure', movementId, packBody('GB', 'PSGB1', '04-'));
    expect(await flow('departure', movementId, 5)).toEqual([
      'IE015',
      'IE928',
      'IE170',
      'IE028',
      'IE029',
    ]);
    expect(await statusOf('departure', movementId, 'released')).toBe('released');
  });

  it('PNGB2 presentation with an unknown UN/LOCODE: IE056 (170), the declaration stays acknowledged', async () => {
    const { movementId } = await declare(packBody('GB', 'PNGB2', '01-'));
    await flow('departure', movementId, 2);
    await followUp('departure', movementId, packBody('GB', 'PNGB2', '04 -'));
    expect(await flow('departure', movementId, 4)).toEqual(['IE015', 'IE928', 'IE170', 'IE056']);
    expect(await statusOf('departure', movementId, 'acknowledged')).toBe('acknowledged');
  });

  it('PSGB4 cancellation of a pre-lodged declaration: IE014 → IE009 → invalidated', async () => {
    const { movementId } = await declare(packBody('GB', 'PSGB4', '01-'));
    await flow('departure', movementId, 2);
    await followUp('departure', movementId, packBody('GB', 'PSGB4', '04 -'));
    expect(await flow('departure', movementId, 4)).toEqual(['IE015', 'IE928', 'IE014', 'IE009']);
    expect(await statusOf('departure', movementId, 'invalidated')).toBe('invalidated');
  });
});

describe('arrivals, linked to their departure by MRN', () => {
  async function releasedDeparture(
    scenario: string,
  ): Promise<{ departureId: string; mrn: string }> {
    const { movementId } = await declare(packBody('GB', scenario, '01-'));
    await flow('departure', movementId, 4);
    return { departureId: movementId, mrn: mrnOf(movementId) };
  }

  it('ASGB1 simplified arrival: IE043, IE044 → IE025 (goods_released); the departure is written off', async () => {
    const { departureId, mrn } = await releasedDeparture('ASGB1');
    const { movementId } = await submit('/v1/arrivals', packBody('GB', 'ASGB1', '04-', { mrn }));
    expect(await flow('arrival', movementId, 2)).toEqual(['IE007', 'IE043']);
    expect(await statusOf('arrival', movementId, 'unloading_permission')).toBe(
      'unloading_permission',
    );
    await followUp('arrival', movementId, packBody('GB', 'ASGB1', '06-', { mrn }));
    expect(await flow('arrival', movementId, 4)).toEqual(['IE007', 'IE043', 'IE044', 'IE025']);
    expect(await statusOf('arrival', movementId, 'goods_released')).toBe('goods_released');
    expect(await flow('departure', departureId, 5)).toContain('IE045');
    expect(await statusOf('departure', departureId, 'written_off')).toBe('written_off');
  });

  it('ASGB2 unloading remarks without the state of seals: IE057 (unloading_remarks_rejected), then valid ones → IE025', async () => {
    const { mrn } = await releasedDeparture('ASGB2');
    const { movementId } = await submit('/v1/arrivals', packBody('GB', 'ASGB2', '04-', { mrn }));
    await flow('arrival', movementId, 2);
    await followUp('arrival', movementId, packBody('GB', 'ASGB2', '06-IE044', { mrn }));
    expect(await flow('arrival', movementId, 4)).toEqual(['IE007', 'IE043', 'IE044', 'IE057']);
    expect(await statusOf('arrival', movementId, 'unloading_remarks_rejected')).toBe(
      'unloading_remarks_rejected',
    );
    await followUp('arrival', movementId, packBody('GB', 'ASGB2', '06- Valid', { mrn }));
    expect(await flow('arrival', movementId, 6)).toEqual([
      'IE007',
      'IE043',
      'IE044',
      'IE057',
      'IE044',
      'IE025',
    ]);
    expect(await statusOf('arrival', movementId, 'goods_released')).toBe('goods_released');
  });

  it('ASGB3/4 broken seals: the departure gets IE019 (discrepancies), then IE045 resolved or IE035 confirmed', async () => {
    const resolved = await releasedDeparture('ASGB3');
    const confirmed = await releasedDeparture('ASGB4');
    officer(confirmed.departureId, 'discrepancies-confirmed');
    for (const [scenario, departure] of [
      ['ASGB3', resolved],
      ['ASGB4', confirmed],
    ] as const) {
      const { movementId } = await submit(
        '/v1/arrivals',
        packBody('GB', scenario, '04-', { mrn: departure.mrn }),
      );
      await flow('arrival', movementId, 2);
      await followUp(
        'arrival',
        movementId,
        packBody('GB', scenario, '06-', { mrn: departure.mrn }),
      );
      expect(await flow('arrival', movementId, 4)).toEqual(['IE007', 'IE043', 'IE044', 'IE025']);
    }
    expect(await flow('departure', resolved.departureId, 6)).toEqual([
      'IE015',
      'IE928',
      'IE028',
      'IE029',
      'IE019',
      'IE045',
    ]);
    expect(await flow('departure', confirmed.departureId, 6)).toEqual([
      'IE015',
      'IE928',
      'IE028',
      'IE029',
      'IE019',
      'IE035',
    ]);
    expect(await statusOf('departure', resolved.departureId, 'written_off')).toBe('written_off');
    expect(await statusOf('departure', confirmed.departureId, 'recovery')).toBe('recovery');
    expect(await feedStatuses(confirmed.departureId)).toContain('discrepancies');
  });

  it('ANGB1 normal procedure: IE025 without unloading remarks → goods_released', async () => {
    const { mrn } = await releasedDeparture('ANGB1');
    const { movementId } = await submit('/v1/arrivals', packBody('GB', 'ANGB1', '04-', { mrn }));
    expect(await flow('arrival', movementId, 2)).toEqual(['IE007', 'IE025']);
    expect(await statusOf('arrival', movementId, 'goods_released')).toBe('goods_released');
  });

  it('AGB1 arrival for a departure the office invalidated: IE057 → rejected', async () => {
    const { movementId: departureId } = await declare(packBody('GB', 'AGB1', '01-'));
    officer(departureId, 'invalidate');
    await flow('departure', departureId, 5);
    const { movementId } = await submit(
      '/v1/arrivals',
      packBody('GB', 'AGB1', '03-', { mrn: mrnOf(departureId) }),
    );
    expect(await flow('arrival', movementId, 2)).toEqual(['IE007', 'IE057']);
    expect(await statusOf('arrival', movementId, 'rejected')).toBe('rejected');
  });
});
