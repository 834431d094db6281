import { buildIE007, buildIE014, buildIE015, buildIE044, isValidMrn } from '@ctc-hub/ncts-testkit';
import {
  ctcJson,
  startTestSandbox,
  waitFor,
  type ReceivedPush,
  type TestSandbox,
} from '../test-helpers.js';

// The simulated NCTS as a client sees it through PPNS: which messages follow a submission, in
// which order, consistent with the movement, and how markers and X-Sandbox-Outcome steer it.

let sandbox: TestSandbox;
let token: string;
beforeAll(async () => {
  sandbox = await startTestSandbox({ SANDBOX_NCTS_STEP_MS: '5' });
});
afterAll(() => sandbox.close());
beforeEach(() => {
  sandbox.controls.reset();
  sandbox.receiver.pushes.length = 0;
  token = sandbox.token('GB123456789000');
});

async function submit(
  path: string,
  xml: string,
  headers: Record<string, string> = {},
): Promise<Record<string, string>> {
  const response = await fetch(`${sandbox.url}/customs/transits/movements/${path}`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${token}`,
      accept: ctcJson,
      'content-type': 'application/xml',
      ...headers,
    },
    body: xml,
  });
  expect(response.status).toBe(202);
  return (await response.json()) as Record<string, string>;
}

/**
 * Pushes of a movement in the order NCTS sent the messages. Pushes travel concurrently, so
 * their arrival order may differ (PPNS guarantees no order either); the stored order may not.
 */
const pushesFor = (movementId: string): ReceivedPush[] => {
  const order = (sandbox.controls.movement(movementId)?.messages ?? []).map(
    (message) => message.id,
  );
  return sandbox.receiver.pushes
    .filter(
      (push) => push.payload.departureId === movementId || push.payload.arrivalId === movementId,
    )
    .sort(
      (a, b) =>
        order.indexOf(String(a.payload.messageId)) - order.indexOf(String(b.payload.messageId)),
    );
};
const types = (movementId: string) => pushesFor(movementId).map((push) => push.payload.messageType);

async function settled(): Promise<void> {
  await sandbox.controls.settle();
}

describe('departures', () => {
  it('answers an IE015 with IE928, IE028 (MRN allocated) and IE029, consistent with the declaration', async () => {
    const { departureId } = await submit(
      'departures',
      buildIE015({ lrn: 'FLOW-1', goodsItemCount: 3 }),
    );
    await waitFor(() => types(departureId!).length === 3);
    await settled();
    expect(types(departureId!)).toEqual(['IE928', 'IE028', 'IE029']);
    const movement = sandbox.controls.movement(departureId!)!;
    expect(isValidMrn(movement.mrn!)).toBe(true);
    const [ie928, ie028, ie029] = pushesFor(departureId!).map((push) =>
      String(push.payload.messageBody),
    );
    expect(ie928).toContain('<LRN>FLOW-1</LRN>');
    expect(ie028).toContain(`<MRN>${movement.mrn}</MRN>`);
    expect(ie029).toContain(`<MRN>${movement.mrn}</MRN>`);
    expect(ie029?.match(/<ConsignmentItem>/g)).toHaveLength(3);
    // NCTS answers refer to the trader's messageIdentification.
    const submitted = movement.messages[0]!.body!.toString();
    const identification = /<messageIdentification>([^<]+)</.exec(submitted)![1];
    expect(ie028).toContain(`<correlationIdentifier>${identification}</correlationIdentifier>`);
    const list = (await (
      await fetch(`${sandbox.url}/customs/transits/movements/departures/${departureId}`, {
        headers: { authorization: `Bearer ${token}`, accept: ctcJson },
      })
    ).json()) as Record<string, unknown>;
    expect(list.movementReferenceNumber).toBe(movement.mrn);
  });

  it('rejects a declaration whose LRN starts with REJ with IE056, after which the LRN can be reused', async () => {
    const { departureId } = await submit('departures', buildIE015({ lrn: 'REJ-0001' }));
    await waitFor(() => types(departureId!).length === 1);
    await settled();
    expect(types(departureId!)).toEqual(['IE056']);
    const body = String(pushesFor(departureId!)[0]!.payload.messageBody);
    expect(body).toContain('<businessRejectionType>015</businessRejectionType>');
    expect(body).toContain('<LRN>REJ-0001</LRN>');
    expect(body).not.toContain('<MRN>');
    const again = await fetch(`${sandbox.url}/customs/transits/movements/departures`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${token}`,
        accept: ctcJson,
        'content-type': 'application/xml',
        'x-sandbox-outcome': 'none',
      },
      body: buildIE015({ lrn: 'REJ-0001' }),
    });
    expect(again.status).toBe(202);
  });

  it('sends a control decision for CTL LRNs and follows X-Sandbox-Outcome', async () => {
    const controlled = await submit('departures', buildIE015({ lrn: 'CTL-0001' }));
    const noRelease = await submit('departures', buildIE015({ lrn: 'PLAIN-0001' }), {
      'x-sandbox-outcome': 'no-release',
    });
    await waitFor(
      () =>
        types(controlled.departureId!).length === 4 && types(noRelease.departureId!).length === 3,
    );
    expect(types(controlled.departureId!)).toEqual(['IE928', 'IE028', 'IE060', 'IE029']);
    expect(types(noRelease.departureId!)).toEqual(['IE928', 'IE028', 'IE051']);
    const bad = await fetch(`${sandbox.url}/customs/transits/movements/departures`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${token}`,
        accept: ctcJson,
        'content-type': 'application/xml',
        'x-sandbox-outcome': 'maybe',
      },
      body: buildIE015(),
    });
    expect(bad.status).toBe(400);
  });

  it('answers an IE014 with IE009 before release, and rejects it with IE056 (014) after, as in HMRC trader test pack', async () => {
    const early = await submit('departures', buildIE015({ lrn: 'INV-EARLY' }), {
      'x-sandbox-outcome': 'none',
    });
    await submit(`departures/${early.departureId}/messages`, buildIE014({ lrn: 'INV-EARLY' }));
    await waitFor(() => types(early.departureId!).length === 1);
    expect(String(pushesFor(early.departureId!)[0]!.payload.messageBody)).toContain(
      '<decision>1</decision>',
    );

    const late = await submit('departures', buildIE015({ lrn: 'INV-LATE' }));
    await waitFor(() => types(late.departureId!).includes('IE029'));
    const mrn = sandbox.controls.movement(late.departureId!)!.mrn!;
    await submit(`departures/${late.departureId}/messages`, buildIE014({ mrn }));
    await waitFor(() => types(late.departureId!).includes('IE056'));
    const ie056 = pushesFor(late.departureId!).find(
      (push) => push.payload.messageType === 'IE056',
    )!;
    expect(String(ie056.payload.messageBody)).toContain(
      '<businessRejectionType>014</businessRejectionType>',
    );
  });
});

describe('arrivals', () => {
  it('answers IE007 with IE043, then IE044 with IE025', async () => {
    const mrn = '25GB12345678901AJ1';
    const { arrivalId } = await submit('arrivals', buildIE007({ mrn, eori: 'GB123456789000' }));
    await waitFor(() => types(arrivalId!).length === 1);
    expect(types(arrivalId!)).toEqual(['IE043']);
    expect(String(pushesFor(arrivalId!)[0]!.payload.messageBody)).toContain(`<MRN>${mrn}</MRN>`);
    await submit(`arrivals/${arrivalId}/messages`, buildIE044({ mrn, eori: 'GB123456789000' }));
    await waitFor(() => types(arrivalId!).length === 2);
    expect(types(arrivalId!)).toEqual(['IE043', 'IE025']);
  });

  it('rejects IE007 for MRNs marked REJ and IE044 for MRNs marked RJU with IE057', async () => {
    const rejected = await submit('arrivals', buildIE007({ mrn: '25GBREJ000000001J1' }));
    await waitFor(() => types(rejected.arrivalId!).length === 1);
    expect(types(rejected.arrivalId!)).toEqual(['IE057']);
    expect(String(pushesFor(rejected.arrivalId!)[0]!.payload.messageBody)).toContain(
      '<businessRejectionType>007</businessRejectionType>',
    );

    const remarks = await submit('arrivals', buildIE007({ mrn: '25GBRJU000000001J1' }));
    await waitFor(() => types(remarks.arrivalId!).length === 1);
    await submit(
      `arrivals/${remarks.arrivalId}/messages`,
      buildIE044({ mrn: '25GBRJU000000001J1' }),
    );
    await waitFor(() => types(remarks.arrivalId!).length === 2);
    expect(types(remarks.arrivalId!)).toEqual(['IE043', 'IE057']);
    expect(String(pushesFor(remarks.arrivalId!)[1]!.payload.messageBody)).toContain(
      '<businessRejectionType>044</businessRejectionType>',
    );
  });
});

describe('unknown outcome (idempotency testing)', () => {
  it('accept-then-reset stores the declaration but the client sees a dropped connection', async () => {
    const attempt = fetch(`${sandbox.url}/customs/transits/movements/departures`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${token}`,
        accept: ctcJson,
        'content-type': 'application/xml',
        'x-sandbox-fault': 'accept-then-reset',
      },
      body: buildIE015({ lrn: 'UNKNOWN-1' }),
    });
    await expect(attempt).rejects.toThrow();
    const list = (await (
      await fetch(
        `${sandbox.url}/customs/transits/movements/departures?localReferenceNumber=UNKNOWN-1`,
        { headers: { authorization: `Bearer ${token}`, accept: ctcJson } },
      )
    ).json()) as { totalCount: number };
    expect(list.totalCount).toBe(1);
    // A blind resend is caught as a duplicate LRN.
    const resend = await fetch(`${sandbox.url}/customs/transits/movements/departures`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${token}`,
        accept: ctcJson,
        'content-type': 'application/xml',
      },
      body: buildIE015({ lrn: 'UNKNOWN-1' }),
    });
    expect(resend.status).toBe(409);
    expect(sandbox.controls.stats().faults.acceptThenReset).toBe(1);
  });

  it('accept-then-timeout stores the declaration and never answers', async () => {
    const attempt = fetch(`${sandbox.url}/customs/transits/movements/departures`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${token}`,
        accept: ctcJson,
        'content-type': 'application/xml',
        'x-sandbox-fault': 'accept-then-timeout',
      },
      body: buildIE015({ lrn: 'UNKNOWN-2' }),
      signal: AbortSignal.timeout(300),
    });
    await expect(attempt).rejects.toThrow(/aborted|timeout/i);
    expect(sandbox.controls.movements().some((movement) => movement.lrn === 'UNKNOWN-2')).toBe(
      true,
    );
  });
});
