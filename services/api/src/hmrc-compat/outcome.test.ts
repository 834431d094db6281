import type { HmrcReply } from '@ctc-hub/db';
import { answerOf, type OutcomeRow } from './outcome.js';

// What a trader's software gets for a submission in each state.

const row = (changes: Partial<OutcomeRow>): OutcomeRow => ({
  status: 'queued',
  hmrc_reply: null,
  hmrc_response: null,
  movement_type: 'departure',
  movement_id: null,
  hmrc_message_id: null,
  box_id: null,
  message_type: 'IE015',
  route: 'small',
  upload_state: null,
  ...changes,
});
const reply = (status: number, body: unknown): HmrcReply => ({
  status,
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify(body),
});

describe('answerOf', () => {
  it('hands on HMRC’s own answer, accepted or refused', () => {
    const accepted = reply(202, { departureId: '0123456789abcdef', messageId: 'fedcba9876543210' });
    expect(answerOf(row({ status: 'accepted', hmrc_reply: accepted }))).toEqual({
      kind: 'reply',
      reply: accepted,
    });
    const refused = reply(400, { code: 'SCHEMA_VALIDATION', validationErrors: [] });
    expect(answerOf(row({ status: 'rejected', hmrc_reply: refused }))).toEqual({
      kind: 'reply',
      reply: refused,
    });
  });

  it('rebuilds HMRC’s 202 when the accepting answer never reached us', () => {
    // Attempt 1: HMRC answered 503 (kept); attempt 2 found the declaration at HMRC.
    const answer = answerOf(
      row({
        status: 'accepted',
        hmrc_reply: reply(503, { code: 'SERVER_ERROR' }),
        movement_id: '0123456789abcdef',
        hmrc_message_id: 'fedcba9876543210',
        box_id: 'b0c1d2e3-0000-4000-8000-000000000000',
      }),
    );
    expect(answer.kind).toBe('reply');
    const rebuilt = (answer as { reply: HmrcReply }).reply;
    expect(rebuilt.status).toBe(202);
    const path = '/customs/transits/movements/departures/0123456789abcdef';
    expect(JSON.parse(rebuilt.body)).toEqual({
      _links: {
        self: { href: path },
        messages: { href: `${path}/messages` },
        message: { href: `${path}/messages/fedcba9876543210` },
      },
      departureId: '0123456789abcdef',
      messageId: 'fedcba9876543210',
      boxId: 'b0c1d2e3-0000-4000-8000-000000000000',
    });
    // A follow-up: HMRC's HateoasMovementUpdateResponse.
    const followUp = answerOf(
      row({
        status: 'accepted',
        message_type: 'IE014',
        movement_id: '0123456789abcdef',
        hmrc_message_id: '1111111111111111',
      }),
    );
    expect(JSON.parse((followUp as { reply: HmrcReply }).reply.body)).toEqual({
      _links: {
        self: { href: `${path}/messages/1111111111111111` },
        departure: { href: path },
      },
      departureId: '0123456789abcdef',
      messageId: '1111111111111111',
    });
  });

  it('is pending while queued or sending, and HMRC’s 500 when it could not be sent', () => {
    expect(answerOf(row({ status: 'sending' }))).toEqual({ kind: 'pending' });
    const failed = answerOf(row({ status: 'failed' }));
    expect(failed.kind).toBe('error');
    expect(failed).toMatchObject({
      error: { status: 500, code: 'INTERNAL_SERVER_ERROR', message: 'Internal server error' },
    });
    const lastRefusal = reply(503, { code: 'SERVER_ERROR' });
    expect(answerOf(row({ status: 'failed', hmrc_reply: lastRefusal }))).toEqual({
      kind: 'reply',
      reply: lastRefusal,
    });
  });

  it('hands on a large-message route once HMRC opened it', () => {
    const opened = reply(202, { departureId: '0123456789abcdef', uploadRequest: {} });
    expect(
      answerOf(
        row({ status: 'sending', route: 'large', upload_state: 'initiated', hmrc_reply: opened }),
      ),
    ).toEqual({ kind: 'initiated', reply: opened });
  });
});
