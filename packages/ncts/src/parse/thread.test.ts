import { readFileSync } from 'node:fs';
import { fixturePath } from '@ctc-hub/testing';
import { parseNctsMessage } from './parse.js';
import { NctsParser } from './thread.js';

// The worker-thread path must give exactly what the inline path gives, and must really run off
// the caller's thread: a multi-megabyte message may not stall BullMQ lock renewal.

const release = readFileSync(
  fixturePath('ncts/examples/phase5/ie029-example-november-2023.xml'),
  'utf8',
);

/** The IE029 example with its house consignment (9 goods items) repeated past `minBytes`. */
function bigRelease(minBytes: number): { xml: Buffer; copies: number } {
  const start = release.indexOf('<HouseConsignment>');
  const end = release.indexOf('</HouseConsignment>') + '</HouseConsignment>'.length;
  const houseConsignment = release.slice(start, end);
  const copies = Math.ceil((minBytes - release.length) / houseConsignment.length) + 1;
  const xml = release.slice(0, start) + houseConsignment.repeat(copies) + release.slice(end);
  return { xml: Buffer.from(xml), copies };
}

describe('NctsParser', () => {
  const parser = new NctsParser();
  afterAll(() => parser.close());

  it('parses a document over 1 MiB in a worker thread with the same summary as inline', async () => {
    const { xml, copies } = bigRelease(1024 * 1024 + 1);
    expect(xml.byteLength).toBeGreaterThan(1024 * 1024);

    let ticks = 0;
    const timer = setInterval(() => ticks++, 1);
    const threaded = await parser.parse(xml);
    clearInterval(timer);

    const inline = parseNctsMessage(xml);
    expect(threaded).toEqual(inline);
    expect(threaded).toMatchObject({
      ok: true,
      summary: { mrn: '23GB000246IF9W5YJ0', releaseDate: '2023-11-27', goodsItemCount: 9 * copies },
    });
    // The event loop kept turning while the worker parsed (thread start-up alone takes longer
    // than a few milliseconds); an inline parse would have blocked every timer.
    expect(ticks).toBeGreaterThan(2);
  });

  it('leaves the caller its bytes (they are copied, not transferred)', async () => {
    const { xml } = bigRelease(1024 * 1024 + 1);
    const before = Buffer.from(xml);
    await parser.parse(xml);
    expect(xml.equals(before)).toBe(true);
  });

  it('reports errors from the worker like the inline parser does', async () => {
    const { xml } = bigRelease(1024 * 1024 + 1);
    const broken = xml.subarray(0, xml.byteLength - 20);
    const result = await parser.parse(broken);
    expect(result).toEqual(parseNctsMessage(broken));
    expect(result).toMatchObject({ ok: false, error: { code: 'NOT_WELL_FORMED' } });
  });

  it('parses small documents inline with the same result', async () => {
    const xml = Buffer.from(release);
    expect(await parser.parse(xml)).toEqual(parseNctsMessage(xml));
  });

  it('applies parse options on both paths', async () => {
    const limited = new NctsParser({ threadThresholdBytes: 1, maxDepth: 3 });
    try {
      expect(await limited.parse(Buffer.from('<a><b><c><d/></c></b></a>'))).toMatchObject({
        ok: false,
        error: { code: 'TOO_DEEP' },
      });
      expect(await limited.parse(Buffer.from(release))).toMatchObject({
        ok: false,
        error: { code: 'TOO_DEEP' },
      });
    } finally {
      await limited.close();
    }
  });

  it('refuses an oversized document without starting a thread', async () => {
    const limited = new NctsParser({ threadThresholdBytes: 10, maxBytes: 100 });
    try {
      expect(await limited.parse(Buffer.alloc(101, 0x20))).toMatchObject({
        ok: false,
        error: { code: 'TOO_LARGE' },
      });
    } finally {
      await limited.close();
    }
  });

  it('refuses work once closed', async () => {
    const closed = new NctsParser();
    await closed.close();
    await expect(closed.parse(Buffer.from(release))).rejects.toThrow('NctsParser is closed');
  });

  it('rejects a thread count that is not a positive integer', () => {
    expect(() => new NctsParser({ threads: 0 })).toThrow(RangeError);
  });
});
