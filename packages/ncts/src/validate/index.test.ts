import { readdirSync, readFileSync } from 'node:fs';
import { fixturePath } from '@ctc-hub/testing';
import { schemaPhaseForApiVersion, XsdValidator } from './index.js';

// The README beside the examples records what libxml2 answers for each file against the phase 5
// schemas; our validator must give the same verdict and the same first message.

const examplesDir = fixturePath('ncts/examples/phase5');
const example = (name: string) => readFileSync(`${examplesDir}/${name}`);

/** file → null (XSD-valid) or the (truncated) first error message, from the README table. */
function readmeVerdicts(): Map<string, string | null> {
  const readme = readFileSync(fixturePath('ncts/README.md'), 'utf8');
  const verdicts = new Map<string, string | null>();
  for (const [, file, verdict] of readme.matchAll(/^\| `([^`]+\.xml)` \| (.+?) \|$/gm)) {
    if (file === undefined || verdict === undefined) continue;
    verdicts.set(file, verdict === 'XSD-valid' ? null : verdict.replace(/^XSD-invalid: /, ''));
  }
  return verdicts;
}

describe('XsdValidator', () => {
  const validator = new XsdValidator();
  afterAll(() => validator.close());

  const verdicts = readmeVerdicts();

  it('has a README verdict for every phase 5 example', () => {
    expect([...verdicts.keys()].sort()).toEqual(readdirSync(examplesDir).sort());
    expect(verdicts.size).toBe(36);
  });

  it.each([...verdicts])('%s: as the README table says', async (file, firstError) => {
    const result = await validator.validate(example(file), 'phase5');
    if (firstError === null) {
      expect(result).toEqual({ ok: true });
    } else {
      expect(result.ok).toBe(false);
      const first = result.ok ? undefined : result.errors[0];
      expect(first?.message.startsWith(firstError)).toBe(true);
      expect(first?.lineNumber).toBeGreaterThan(1);
    }
  });

  it('reports every error with its line, column and element path, and libxml2 messages without trailing newlines', async () => {
    const result = await validator.validate(example('cc015c-realistic.xml'), 'phase5');
    expect(result.ok ? [] : result.errors).toHaveLength(52);
    expect(result.ok ? [] : result.errors.slice(0, 3)).toEqual([
      {
        lineNumber: 27,
        columnNumber: 7,
        elementPath: '/CC015C/HolderOfTheTransitProcedure/Address/country',
        message:
          "Element 'country': [facet 'pattern'] The value 'Gh' is not accepted by the pattern '[A-Z]{2}'.",
      },
      {
        lineNumber: 36,
        columnNumber: 5,
        elementPath: '/CC015C/Guarantee/guaranteeType',
        message:
          "Element 'guaranteeType': [facet 'pattern'] The value 'f' is not accepted by the pattern '[A-Z0-9]*'.",
      },
      {
        lineNumber: 45,
        columnNumber: 9,
        elementPath:
          '/CC015C/Consignment/HouseConsignment/ConsignmentItem/declarationGoodsItemNumber',
        message:
          "Element 'declarationGoodsItemNumber': [facet 'maxInclusive'] The value '31271' is greater than the maximum value allowed ('1999').",
      },
    ]);
  });

  it('accepts a string as well as bytes', async () => {
    const xml = example('cc015c-valid.xml').toString('utf8');
    expect(await validator.validate(xml, 'phase5')).toEqual({ ok: true });
    expect(await validator.validate(`\ufeff${xml}`, 'phase5')).toEqual({ ok: true });
  });

  it('refuses a DOCTYPE before libxml2 parses the document', async () => {
    const xml = `<?xml version="1.0"?>\n<!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n${example('cc015c-valid.xml').toString()}`;
    expect(await validator.validate(xml, 'phase5')).toEqual({
      ok: false,
      errors: [
        {
          lineNumber: 2,
          columnNumber: 1,
          message: 'DOCTYPE and entity declarations are not accepted',
        },
      ],
    });
  });

  it('answers an unknown root element or a phase 4 message with an error, not a throw', async () => {
    expect(
      await validator.validate('<ncts:CC999C xmlns:ncts="http://ncts.dgtaxud.ec"/>', 'phase5'),
    ).toEqual({
      ok: false,
      errors: [
        { lineNumber: 1, columnNumber: 0, message: 'No phase5 schema for root element CC999C' },
      ],
    });
    const phase4 = readFileSync(fixturePath('ncts/examples/phase4/cc015b-example.xml'));
    expect(await validator.validate(phase4, 'phase5')).toMatchObject({
      ok: false,
      errors: [{ message: 'No phase5 schema for root element CC015B' }],
    });
  });

  it('answers a document that is not well-formed with an error', async () => {
    expect(
      await validator.validate('<ncts:CC015C xmlns:ncts="http://ncts.dgtaxud.ec">', 'phase5'),
    ).toEqual({
      ok: false,
      errors: [{ lineNumber: 1, columnNumber: 50, message: 'Document ends inside <ncts:CC015C>' }],
    });
    expect(await validator.validate('', 'phase5')).toMatchObject({
      ok: false,
      errors: [{ message: 'No root element' }],
    });
    expect(await validator.validate(Buffer.from([0x3c, 0x61, 0xff, 0x3e]), 'phase5')).toMatchObject(
      {
        ok: false,
        errors: [{ message: 'Document is not valid UTF-8' }],
      },
    );
  });

  it('fails a root in the wrong namespace', async () => {
    const xml = example('cc015c-valid.xml')
      .toString()
      .replace('http://ncts.dgtaxud.ec', 'urn:other');
    expect(await validator.validate(xml, 'phase5')).toMatchObject({ ok: false });
  });

  it('validates against phase 6 schemas, which changed some structures', async () => {
    // cc015c-valid-2 satisfies both schema versions.
    expect(await validator.validate(example('cc015c-valid-2.xml'), 'phase6')).toEqual({ ok: true });
    expect(await validator.validate(example('cc014c-valid.xml'), 'phase6')).toEqual({ ok: true });
    // Phase 6 requires more of Commodity than cc015c-valid gives; phase 5 does not.
    const result = await validator.validate(example('cc015c-valid.xml'), 'phase6');
    expect(result.ok).toBe(false);
    expect(result.ok ? '' : result.errors[0]?.message).toMatch(
      /^Element 'Commodity': Missing child element\(s\)/,
    );
    // Phase 6 dropped incidentFlag from IE007.
    const arrival = await validator.validate(example('cc007c-valid.xml'), 'phase6');
    expect(arrival.ok ? undefined : arrival.errors[0]).toEqual({
      lineNumber: 12,
      columnNumber: expect.any(Number),
      elementPath: '/CC007C/TransitOperation/incidentFlag',
      message: expect.stringMatching(/^Element 'incidentFlag': This element is not expected/),
    });
  });

  it('compiles every phase 5 and phase 6 entry schema the catalogue validates', async () => {
    const roots = [
      'CC004C',
      'CC007C',
      'CC009C',
      'CC013C',
      'CC014C',
      'CC015C',
      'CC019C',
      'CC022C',
      'CC025C',
      'CC028C',
      'CC029C',
      'CC035C',
      'CC043C',
      'CC044C',
      'CC045C',
      'CC051C',
      'CC055C',
      'CC056C',
      'CC057C',
      'CC060C',
      'CC170C',
      'CC182C',
      'CC906C',
      'CC917C',
      'CC928C',
    ];
    for (const phase of ['phase5', 'phase6'] as const) {
      for (const root of roots) {
        const result = await validator.validate(
          `<ncts:${root} xmlns:ncts="http://ncts.dgtaxud.ec"/>`,
          phase,
        );
        // An empty message is invalid, but against the right schema: its root was recognised.
        expect(result).toMatchObject({
          ok: false,
          errors: [{ message: expect.stringMatching(/Missing child element/) }],
        });
      }
    }
  });

  it('caps the number of reported errors', async () => {
    const limited = new XsdValidator({ maxErrors: 2 });
    try {
      const result = await limited.validate(example('cc015c-realistic.xml'), 'phase5');
      expect(result).toMatchObject({
        ok: false,
        errors: [
          { lineNumber: 27 },
          { lineNumber: 36 },
          { lineNumber: 0, columnNumber: 0, message: '50 further errors omitted' },
        ],
      });
    } finally {
      await limited.close();
    }
  });

  it('validates concurrently on two threads with the same answers', async () => {
    const pool = new XsdValidator({ threads: 2 });
    try {
      const files = [
        'cc015c-valid.xml',
        'cc015c-invalid.xml',
        'cc029c-valid.xml',
        'cc044c-valid.xml',
      ];
      const results = await Promise.all(
        Array.from({ length: 16 }, (_, i) =>
          pool.validate(example(files[i % 4] as string), 'phase5'),
        ),
      );
      expect(results.map((result) => result.ok)).toEqual(
        Array.from({ length: 16 }, (_, i) => [true, false, false, true][i % 4]),
      );
    } finally {
      await pool.close();
    }
  });

  it('refuses work once closed', async () => {
    const closed = new XsdValidator();
    await closed.close();
    await expect(closed.validate('<a/>', 'phase5')).rejects.toThrow('XsdValidator is closed');
  });
});

describe('schemaPhaseForApiVersion', () => {
  it.each([
    ['2.1', 'phase5'],
    ['2.0', 'phase5'],
    ['1.0', 'phase5'],
    ['3.0', 'phase6'],
  ])('%s → %s', (version, phase) => {
    expect(schemaPhaseForApiVersion(version)).toBe(phase);
  });
});
