import { signWebhook, webhookHeaders, webhookKey } from './signature.js';

describe('Standard Webhooks signatures', () => {
  it('match the specification’s published example', () => {
    // From the reference implementation's tests (standard-webhooks/standard-webhooks,
    // libraries/javascript/src/webhook.test.ts, "sign function works").
    const key = webhookKey('whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw');
    expect(
      signWebhook(key, 'msg_p5jXN8AQM9LWM0D4loKWxJek', 1614265330, '{"test": 2432232314}'),
    ).toBe('v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=');
  });

  it('are sent with the id, the time of sending in seconds and a JSON content type', () => {
    const key = webhookKey('whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw');
    const headers = webhookHeaders(key, 'abc', '{}', new Date(1_700_000_000_999));
    expect(headers).toEqual({
      'content-type': 'application/json',
      'webhook-id': 'abc',
      'webhook-timestamp': '1700000000',
      'webhook-signature': signWebhook(key, 'abc', 1_700_000_000, '{}'),
    });
  });
});
