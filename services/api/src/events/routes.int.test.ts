// Risk retired: a client following /v1/events or /v1/events/stream misses or repeats events when
// it resumes, sees other traders' events, is refused for a bad reason (or not refused for a bad
// cursor), or cannot tell that it has to come back later.
import { comparePositions, decodeCursor } from '@ctc-hub/db';
import { openEventStream, waitFor } from '@ctc-hub/testing';
import { sql } from 'kysely';
import { eoriA, eoriB, keys, startTestApi, type TestApi } from '../test-support/api.js';

let api: TestApi;
beforeAll(async () => {
  api = await startTestApi({
    EVENT_STREAM_MAX_CLIENTS: '3',
    EVENT_STREAM_MAX_CLIENTS_PER_KEY: '2',
    EVENT_STREAM_HEARTBEAT_SECONDS: '1',
  });
});
afterAll(async () => {
  await api?.close();
});
beforeEach(async () => {
  await sql`TRUNCATE events`.execute(api.db);
});

const departureId = '0123456789abcdef';
const submissionId = '3f9c2a1e-7b4d-4c5e-9a8b-1c2d3e4f5a6b';

async function insertEvents(count: number, eori: string | null = eoriA, kind = 'message.received') {
  await sql`
    INSERT INTO events (kind, movement_type, movement_id, message_id, eori, data)
    SELECT ${kind}, 'departure', ${departureId}, lpad(to_hex(n), 16, '0'), ${eori},
           jsonb_build_object('n', n)
      FROM generate_series(1, ${count}::int) AS n`.execute(api.db);
}

const bearer = (key: string = keys.all) => ({ authorization: `Bearer ${key}` });

async function allEvents(key: string = keys.all, limit = 7) {
  const events: any[] = [];
  let after = '';
  for (;;) {
    const response = await api.get(`/v1/events?limit=${limit}${after && `&after=${after}`}`, {
      key,
    });
    expect(response.status).toBe(200);
    const body = await response.json();
    events.push(...body.events);
    if (body.events.length === 0) return { events, next: body.next as string };
    after = body.next;
  }
}

describe('GET /v1/events', () => {
  it('serves events with their links and a cursor to resume from', async () => {
    await sql`
      INSERT INTO events (kind, movement_type, movement_id, message_id, submission_id, eori, data)
      VALUES ('submission.accepted', 'departure', ${departureId}, 'fedcba9876543210',
              ${submissionId}, ${eoriA}, '{"messageType":"IE015"}')`.execute(api.db);
    const response = await api.get('/v1/events');
    expect(response.status).toBe(200);
    const body = await response.json();
    expect(body.events).toHaveLength(1);
    const [event] = body.events;
    expect(event).toEqual({
      cursor: expect.stringMatching(/^[A-Za-z0-9_-]{23}$/),
      kind: 'submission.accepted',
      createdAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
      movementType: 'departure',
      movementId: departureId,
      messageId: 'fedcba9876543210',
      submissionId,
      eori: eoriA,
      data: { messageType: 'IE015' },
      _links: {
        movement: { href: `/customs/transits/movements/departures/${departureId}` },
        message: {
          href: `/customs/transits/movements/departures/${departureId}/messages/fedcba9876543210`,
        },
        submission: { href: `/v1/submissions/${submissionId}` },
      },
    });
    // The page reached the end of the feed, so `next` may lie past the last event; resuming
    // from it or from the event's own cursor gives the same (nothing, for now).
    expect(body.next).toMatch(/^[A-Za-z0-9_-]{23}$/);
    expect(body._links).toEqual({
      self: { href: '/v1/events' },
      next: { href: `/v1/events?after=${body.next}` },
      stream: { href: `/v1/events/stream?after=${body.next}` },
    });
    for (const after of [body.next, event.cursor])
      expect((await (await api.get(`/v1/events?after=${after}`)).json()).events).toEqual([]);
  });

  it('pages with limit (default 100, at most 1000) and resumes from any cursor without gaps or repeats', async () => {
    await insertEvents(1005);
    const first = await (await api.get('/v1/events')).json();
    expect(first.events).toHaveLength(100);
    const capped = await (await api.get('/v1/events?limit=5000')).json();
    expect(capped.events).toHaveLength(1000);
    expect(capped._links.self.href).toBe('/v1/events?limit=5000');

    const { events, next } = await allEvents(keys.all, 97);
    expect(events.map((event) => event.data.n)).toEqual(
      Array.from({ length: 1005 }, (_, index) => index + 1),
    );
    // From the cursor of event 500: exactly 501.. onwards.
    const resumed = await (await api.get(`/v1/events?after=${events[499].cursor}&limit=3`)).json();
    expect(resumed.events.map((event: any) => event.data.n)).toEqual([501, 502, 503]);

    // At the end: an empty page whose next is still a cursor (it may have moved up to the
    // horizon while other transactions of the cluster took xids), and new events appear after
    // both the old and the new one.
    const atEnd = await (await api.get(`/v1/events?after=${next}`)).json();
    expect(atEnd.events).toEqual([]);
    expect(comparePositions(decodeCursor(atEnd.next)!, decodeCursor(next)!)).toBeGreaterThanOrEqual(
      0,
    );
    await insertEvents(2, eoriB, 'movement.created');
    for (const cursor of [next, atEnd.next]) {
      const later = await (await api.get(`/v1/events?after=${cursor}`)).json();
      expect(later.events.map((event: any) => event.kind)).toEqual([
        'movement.created',
        'movement.created',
      ]);
    }
  });

  it('starts at the end with after=now', async () => {
    await insertEvents(3);
    const now = await (await api.get('/v1/events?after=now')).json();
    expect(now.events).toEqual([]);
    expect(now._links.self.href).toBe('/v1/events?after=now');
    await insertEvents(1, eoriA, 'movement.status_changed');
    const fresh = await (await api.get(`/v1/events?after=${now.next}`)).json();
    expect(fresh.events.map((event: any) => event.kind)).toEqual(['movement.status_changed']);
  });

  it.each([
    ['limit=0', 'limit'],
    ['limit=-1', 'limit'],
    ['limit=ten', 'limit'],
    ['limit=1.5', 'limit'],
    ['after=not-a-cursor', 'after'],
    // A cursor with a spare bit set, and one of a version we never issued.
    ['after=AQAAAAAAAAPoAAAAAAAAAAF', 'after'],
    ['after=AgAAAAAAAAPoAAAAAAAAAAE', 'after'],
  ])('answers 400 for %s', async (query, name) => {
    const response = await api.get(`/v1/events?${query}`);
    expect(response.status).toBe(400);
    const body = await response.json();
    expect(body.code).toBe('BAD_REQUEST');
    expect(body.message).toContain(name);
  });

  it('treats an empty after as absent and needs an API key', async () => {
    await insertEvents(2);
    expect((await (await api.get('/v1/events?after=')).json()).events).toHaveLength(2);
    expect((await fetch(`${api.baseUrl}/v1/events`)).status).toBe(401);
  });

  it('shows a scoped key only its traders, moving its cursor over the rest', async () => {
    await insertEvents(3, eoriA);
    await insertEvents(4, eoriB);
    await insertEvents(2, null, 'notification.quarantined');
    await insertEvents(1, eoriA, 'movement.status_changed');

    const mine = await allEvents(keys.a, 2);
    expect(mine.events.map((event) => [event.eori, event.kind])).toEqual([
      [eoriA, 'message.received'],
      [eoriA, 'message.received'],
      [eoriA, 'message.received'],
      [eoriA, 'movement.status_changed'],
    ]);
    expect((await allEvents(keys.b, 2)).events.map((event) => event.eori)).toEqual(
      Array(4).fill(eoriB),
    );
    // Events that name no trader are for unscoped keys only.
    const everything = await allEvents(keys.all, 3);
    expect(everything.events).toHaveLength(10);
    // The scoped cursor ended past the last event, its traders' or not: nothing left to re-scan.
    expect(
      comparePositions(decodeCursor(mine.next)!, decodeCursor(everything.events.at(-1).cursor)!),
    ).toBeGreaterThan(0);
    await insertEvents(1, eoriB);
    expect(
      (await (await api.get(`/v1/events?after=${mine.next}`, { key: keys.a })).json()).events,
    ).toEqual([]);
  });
});

describe('GET /v1/events/stream', () => {
  const streamUrl = (query = '') => `${api.baseUrl}/v1/events/stream${query}`;

  it('streams the feed as Server-Sent Events and resumes after Last-Event-ID', async () => {
    await insertEvents(5);
    const page = await (await api.get('/v1/events')).json();

    const stream = await openEventStream(streamUrl(`?after=${page.events[0].cursor}`), {
      ...bearer(),
      // The later position wins, as when an EventSource reconnects to its original URL.
      'last-event-id': page.events[2].cursor,
    });
    try {
      expect(stream.response.status).toBe(200);
      expect(stream.response.headers.get('content-type')).toMatch(/^text\/event-stream/);
      expect(stream.response.headers.get('cache-control')).toContain('no-cache');
      for (const expected of page.events.slice(3)) {
        const received = await stream.next();
        expect(received).toEqual({
          id: expected.cursor,
          event: 'message.received',
          data: JSON.stringify(expected),
        });
      }
      expect(stream.retry()).toBeGreaterThan(0);

      // New events reach an open stream without the client asking.
      const started = Date.now();
      await insertEvents(1, eoriA, 'movement.status_changed');
      const live = await stream.next(3000);
      expect(live.event).toBe('movement.status_changed');
      expect(Date.now() - started).toBeLessThan(2000);

      // Idle: heartbeat comments keep proxies from closing it.
      await waitFor(() => stream.comments.includes('heartbeat'), { timeoutMs: 3000 });
    } finally {
      stream.close();
    }
  });

  it('starts from after=, from the beginning without it, and refuses a bad Last-Event-ID', async () => {
    await insertEvents(3);
    const page = await (await api.get('/v1/events')).json();
    const fromAfter = await openEventStream(streamUrl(`?after=${page.events[1].cursor}`), bearer());
    const fromStart = await openEventStream(streamUrl(), bearer());
    try {
      expect((await fromAfter.next()).id).toBe(page.events[2].cursor);
      for (const expected of page.events) expect((await fromStart.next()).id).toBe(expected.cursor);
    } finally {
      fromAfter.close();
      fromStart.close();
    }

    const refused = await fetch(streamUrl(), {
      headers: { ...bearer(), 'last-event-id': 'garbage' },
    });
    expect(refused.status).toBe(400);
    expect(((await refused.json()) as { message: string }).message).toContain('Last-Event-ID');
  });

  it('streams only the events a scoped key may see, from now when asked', async () => {
    const stream = await openEventStream(streamUrl('?after=now'), bearer(keys.b));
    try {
      await insertEvents(2, eoriA);
      await insertEvents(1, eoriB, 'movement.created');
      const received = await stream.next();
      expect(received.event).toBe('movement.created');
      expect(JSON.parse(received.data).eori).toBe(eoriB);
      await insertEvents(1, null);
      await insertEvents(1, eoriB, 'movement.status_changed');
      expect((await stream.next()).event).toBe('movement.status_changed');
    } finally {
      stream.close();
    }
  });

  it('holds a bounded number of streams: 503 with Retry-After beyond it, a slot back on disconnect', async () => {
    // Three keys, one stream each, fill the house (EVENT_STREAM_MAX_CLIENTS=3).
    const first = await openEventStream(streamUrl('?after=now'), bearer(keys.all));
    const second = await openEventStream(streamUrl('?after=now'), bearer(keys.a));
    const third = await openEventStream(streamUrl('?after=now'), bearer(keys.b));
    try {
      const refused = await fetch(streamUrl('?after=now'), { headers: bearer(keys.all) });
      expect(refused.status).toBe(503);
      expect(refused.headers.get('retry-after')).toBe('5');
      expect(((await refused.json()) as { code: string }).code).toBe('SERVICE_UNAVAILABLE');

      first.close();
      const fourth = await waitFor(async () => {
        const candidate = await openEventStream(streamUrl('?after=now'), bearer());
        if (candidate.response.status === 200) return candidate;
        candidate.close();
        return undefined;
      });
      fourth.close();
    } finally {
      for (const stream of [first, second, third]) stream.close();
    }
  });

  /** A stream that is admitted, retried while slots are still being released. */
  const openAdmitted = (key: string) =>
    waitFor(async () => {
      const candidate = await openEventStream(streamUrl('?after=now'), bearer(key));
      if (candidate.response.status === 200) return candidate;
      candidate.close();
      return undefined;
    });

  it("caps one key's streams below the house, so it cannot take every slot: 429 for that key only", async () => {
    // Admitted once the streams of the test before have been let go.
    const mine = [await openAdmitted(keys.a), await openAdmitted(keys.a)];
    const others: Awaited<ReturnType<typeof openEventStream>>[] = [];
    try {
      for (const stream of mine) expect(stream.response.status).toBe(200);
      const refused = await fetch(streamUrl('?after=now'), { headers: bearer(keys.a) });
      expect(refused.status).toBe(429);
      expect(refused.headers.get('retry-after')).toBe('5');
      expect(await refused.json()).toEqual({
        code: 'KEY_LIMIT_REACHED',
        message: expect.stringMatching(/already has 2 event streams open/),
        limit: 'event-streams',
        max: 2,
      });
      // The slot the key could not take is still there for another key.
      others.push(await openEventStream(streamUrl('?after=now'), bearer(keys.b)));
      expect(others[0]!.response.status).toBe(200);

      // Closing one of its own gives the key its slot back.
      mine[0]!.close();
      others.push(await openAdmitted(keys.a));
    } finally {
      for (const stream of [...mine, ...others]) stream.close();
    }
  });
});
