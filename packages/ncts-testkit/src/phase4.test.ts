import { readFileSync } from 'node:fs';
import { parseNctsMessage } from '@ctc-hub/ncts';
import { fixturePath } from '@ctc-hub/testing';
import {
  buildCC009A,
  buildCC015B,
  buildPhase4Message,
  createSeededRandom,
  generatePhase4Mrn,
  isPhase4Root,
  mrnCheckDigit,
  phase4MessageRoots,
  type Phase4Root,
} from './index.js';

// Phase 4 builders: no XSDs ship with the project, so what is checked is what a reader of these
// messages relies on: no namespace, the root and MesTypMES20, and the summary parseNctsMessage
// extracts (LRN, MRN, offices, EORIs, rejection details).

const roots = Object.keys(phase4MessageRoots) as Phase4Root[];
const params = {
  lrn: 'LRN-P4-0001',
  mrn: '21GB0000000000001X',
  eori: 'GB123456789000',
  officeOfDeparture: 'GB000060',
  officeOfDestination: 'GB000061',
  goodsItemCount: 3,
  random: createSeededRandom(4),
};

describe('phase 4 builders', () => {
  it.each(roots)('%s parses as a known phase 4 message without warnings', (root) => {
    const parsed = parseNctsMessage(buildPhase4Message(root, params));
    if (!parsed.ok) throw new Error(parsed.error.message);
    expect(parsed.summary).toMatchObject({
      rootElement: root,
      messageType: `IE${root.slice(2, 5)}`,
      knownType: true,
      phase: 'NCTS4',
      namespace: null,
      warnings: [],
    });
  });

  it.each(roots)('%s has no namespace and the flat MES header first', (root) => {
    const xml = buildPhase4Message(root);
    expect(xml.startsWith(`<${root}>\n  <SynIdeMES1>UNOC</SynIdeMES1>\n`)).toBe(true);
    expect(xml).not.toContain('xmlns');
    expect(xml.trimEnd().endsWith(`</${root}>`)).toBe(true);
  });

  it('CC015B carries the LRN, principal, offices and goods items like HMRC’s example', () => {
    const parsed = parseNctsMessage(buildCC015B(params));
    if (!parsed.ok) throw new Error(parsed.error.message);
    expect(parsed.summary).toMatchObject({
      lrn: 'LRN-P4-0001',
      mrn: null,
      holderEori: 'GB123456789000',
      officeOfDeparture: 'GB000060',
      officeOfDestination: 'GB000061',
      goodsItemCount: 3,
      header: { messageRecipient: 'NCTS', messageType: 'CC015B' },
    });
    // Same top-level groups, in the same order, as the published example.
    const example = readFileSync(fixturePath('ncts/examples/phase4/cc015b-example.xml'), 'utf8');
    const groups = (xml: string) => [
      ...new Set([...xml.matchAll(/^ {2}<([A-Z0-9]+)>$/gm)].map((match) => match[1])),
    ];
    expect(groups(buildCC015B())).toEqual(
      groups(example).filter(
        (name) => !['CARTRA100', 'TRACORSEC037', 'TRACONSEC029'].includes(name!),
      ),
    );
  });

  it('NCTS answers correlate with the trader message and name the trader as recipient', () => {
    const xml = buildPhase4Message('CC028A', { ...params, correlationIdentifier: '12345' });
    const parsed = parseNctsMessage(xml);
    if (!parsed.ok) throw new Error(parsed.error.message);
    expect(parsed.summary.header).toMatchObject({
      messageSender: 'NCTS',
      messageRecipient: 'GB123456789000',
      messageType: 'GB028A',
      correlationIdentifier: '12345',
    });
    expect(parsed.summary).toMatchObject({ lrn: 'LRN-P4-0001', mrn: '21GB0000000000001X' });
  });

  it.each([
    ['CC016A', '015'],
    ['CC008A', '007'],
    ['CC058A', '044'],
  ] as const)('%s is read as a rejection of IE%s with its functional errors', (root, type) => {
    const parsed = parseNctsMessage(
      buildPhase4Message(root, {
        ...params,
        rejectionReason: 'Because',
        functionalErrors: [{ errorType: '12', errorPointer: 'HEA(1).X', errorReason: 'R1' }],
      }),
    );
    if (!parsed.ok) throw new Error(parsed.error.message);
    expect(parsed.summary.rejection).toEqual({
      businessRejectionType: type,
      rejectionCode: null,
      rejectionReason: 'Because',
      rejectionDateAndTime: expect.stringMatching(/^\d{4}-\d{2}-\d{2}$/),
      functionalErrors: [
        {
          errorPointer: 'HEA(1).X',
          errorCode: '12',
          errorReason: 'R1',
          originalAttributeValue: null,
        },
      ],
    });
  });

  it('CC009A says whether the cancellation was accepted', () => {
    const decision = (accepted: boolean) => {
      const parsed = parseNctsMessage(buildCC009A({ cancellationAccepted: accepted }));
      return parsed.ok ? parsed.summary.invalidationDecision : undefined;
    };
    expect(decision(true)).toBe(true);
    expect(decision(false)).toBe(false);
  });

  it('arrival messages name the trader at destination and the office of presentation', () => {
    const parsed = parseNctsMessage(buildPhase4Message('CC007A', params));
    if (!parsed.ok) throw new Error(parsed.error.message);
    expect(parsed.summary).toMatchObject({
      mrn: '21GB0000000000001X',
      traderAtDestinationEori: 'GB123456789000',
      officeOfDestination: 'GB000061',
    });
  });

  it('is deterministic with a seeded random source', () => {
    const at = new Date('2021-10-01T12:22:00Z');
    const build = () =>
      buildPhase4Message('CC029B', { random: createSeededRandom(9), preparedAt: at });
    expect(build()).toBe(build());
    expect(build()).toContain('<DatOfPreMES9>20211001</DatOfPreMES9>');
    expect(build()).toContain('<TimOfPreMES10>1222</TimOfPreMES10>');
  });

  it('escapes text values', () => {
    expect(buildCC015B({ traderName: 'A & B <Ltd>' })).toContain('A &amp; B &lt;Ltd&gt;');
  });
});

describe('generatePhase4Mrn', () => {
  it('is yy + country + 13 alphanumerics + a valid check digit', () => {
    for (let seed = 0; seed < 50; seed += 1) {
      const mrn = generatePhase4Mrn({
        country: 'xi',
        year: 2021,
        random: createSeededRandom(seed),
      });
      expect(mrn).toMatch(/^21XI[A-Z0-9]{13}[0-9]$/);
      expect(mrnCheckDigit(mrn.slice(0, 17))).toBe(mrn[17]);
    }
  });
});

describe('isPhase4Root', () => {
  it('knows the built roots only', () => {
    expect(isPhase4Root('CC015B')).toBe(true);
    expect(isPhase4Root('CC015C')).toBe(false);
    expect(isPhase4Root('toString')).toBe(false);
  });
});
