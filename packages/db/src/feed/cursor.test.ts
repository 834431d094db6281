import {
  comparePositions,
  decodeCursor,
  encodeCursor,
  feedStart,
  positionBelow,
} from './cursor.js';

describe('change-feed cursors', () => {
  it('round-trip every position, including the extremes of xid8 and bigint', () => {
    for (const position of [
      feedStart,
      { xid: 747n, id: 12n },
      { xid: (1n << 64n) - 1n, id: (1n << 63n) - 1n },
      positionBelow(1_000_000_000_000n),
    ]) {
      const cursor = encodeCursor(position);
      expect(cursor).toMatch(/^[A-Za-z0-9_-]{23}$/);
      expect(decodeCursor(cursor)).toEqual(position);
    }
  });

  it('refuse anything we did not issue', () => {
    const good = encodeCursor({ xid: 1234n, id: 5678n });
    // 17 bytes fill 22⅔ base64 characters: the last one has two spare bits. Flipping one gives
    // another spelling of the same bytes, which is not ours.
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const last = alphabet.indexOf(good.at(-1)!);
    const noncanonical = `${good.slice(0, -1)}${alphabet[last ^ 1]}`;
    const wrongVersion = Buffer.from(good, 'base64url');
    wrongVersion[0] = 2;
    const idTooLarge = Buffer.from(good, 'base64url');
    idTooLarge.writeBigUInt64BE(1n << 63n, 9);
    for (const bad of [
      '',
      'now',
      good.slice(1),
      `${good}A`,
      `${good.slice(0, 22)}=`,
      good.replace(/./, '+'),
      wrongVersion.toString('base64url'),
      idTooLarge.toString('base64url'),
      noncanonical,
    ]) {
      expect(decodeCursor(bad)).toBeUndefined();
    }
    expect(Buffer.from(noncanonical, 'base64url')).toEqual(Buffer.from(good, 'base64url'));
  });

  it('order positions by transaction, then by id', () => {
    expect(comparePositions({ xid: 1n, id: 99n }, { xid: 2n, id: 1n })).toBeLessThan(0);
    expect(comparePositions({ xid: 2n, id: 1n }, { xid: 2n, id: 2n })).toBeLessThan(0);
    expect(comparePositions({ xid: 2n, id: 2n }, { xid: 2n, id: 2n })).toBe(0);
    // "Below horizon 10" is after every event of transaction 9 and before any of transaction 10.
    expect(comparePositions(positionBelow(10n), { xid: 9n, id: 1n << 40n })).toBeGreaterThan(0);
    expect(comparePositions(positionBelow(10n), { xid: 10n, id: 0n })).toBeLessThan(0);
  });
});
