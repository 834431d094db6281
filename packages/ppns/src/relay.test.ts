import { signPayload } from './signature.js';
import { challengeUrl, ppnsNotificationJson, relayedNotification } from './relay.js';

const stored = JSON.stringify({
  notificationId: '1ED5F407-8096-40D1-87EF-9A2A103EEB85',
  boxId: '50dca3fc-c37c-4f03-b719-63571333624c',
  messageContentType: 'application/json',
  message: { key: 'value' },
  status: 'PENDING',
  createdDateTime: '2020-06-01T10:20:23.16Z',
});

describe('the relayed PPNS notification', () => {
  it('is PPNS’s six fields in PPNS’s order, message as a string, +0000 milliseconds', () => {
    const notification = relayedNotification(
      stored,
      '0f6b1a2c-3d4e-4f50-8a6b-7c8d9e0f1a2b',
      'FAILED',
    );
    // PPNS's own example (overview.md), in the consumer's box.
    expect(ppnsNotificationJson(notification!)).toBe(
      '{"notificationId":"1ed5f407-8096-40d1-87ef-9a2a103eeb85",' +
        '"boxId":"0f6b1a2c-3d4e-4f50-8a6b-7c8d9e0f1a2b","messageContentType":"application/json",' +
        '"message":"{\\"key\\":\\"value\\"}","status":"FAILED",' +
        '"createdDateTime":"2020-06-01T10:20:23.160+0000"}',
    );
  });

  it('keeps a string message byte for byte', () => {
    const xml = JSON.parse(stored);
    xml.messageContentType = 'application/xml';
    xml.message = '<someXml>xmlValue</someXml>';
    const notification = relayedNotification(JSON.stringify(xml), xml.boxId, 'PENDING');
    expect(notification?.message).toBe('<someXml>xmlValue</someXml>');
  });

  it('is undefined for what is not a PPNS envelope', () => {
    expect(relayedNotification('{"hello":"world"}', 'x', 'PENDING')).toBeUndefined();
  });
});

it('signs as PPNS documents (HMAC-SHA1, hex, the secret as text)', () => {
  // The test vector of PPNS's overview.md.
  expect(signPayload('sample key', '{"sample": "payload"}')).toBe(
    'c6cdd3e30021fe66d88d37088fed2566453eb7fb',
  );
});

it('challenges as PPNS does: ?challenge=, or &challenge= after a query', () => {
  expect(challengeUrl('https://trader.example/cb', 'abc')).toBe(
    'https://trader.example/cb?challenge=abc',
  );
  expect(challengeUrl('https://trader.example/cb?tenant=1', 'abc')).toBe(
    'https://trader.example/cb?tenant=1&challenge=abc',
  );
});
