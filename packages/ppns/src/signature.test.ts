import { signPayload, verifySignature } from './signature.js';

describe('PPNS signature', () => {
  it('matches HMRC’s published test vector', () => {
    expect(signPayload('sample key', '{"sample": "payload"}')).toBe(
      'c6cdd3e30021fe66d88d37088fed2566453eb7fb',
    );
  });

  it('verifies against any active secret, over the exact bytes', () => {
    const body = Buffer.from('{"sample": "payload"}');
    const header = signPayload('new secret', body);
    expect(verifySignature(['old secret', 'new secret'], body, header)).toBe(true);
    expect(verifySignature(['old secret'], body, header)).toBe(false);
    expect(verifySignature(['new secret'], Buffer.from('{"sample":"payload"}'), header)).toBe(
      false,
    );
  });

  it('refuses missing, upper-case, prefixed or truncated headers', () => {
    const body = Buffer.from('{}');
    const header = signPayload('k', body);
    expect(verifySignature(['k'], body, undefined)).toBe(false);
    expect(verifySignature(['k'], body, header.toUpperCase())).toBe(false);
    expect(verifySignature(['k'], body, `sha1=${header}`)).toBe(false);
    expect(verifySignature(['k'], body, header.slice(0, 39))).toBe(false);
    expect(verifySignature([], body, header)).toBe(false);
  });
});
