import { jsonToXml } from './json-body.js';

// HMRC's JSON form of an NCTS message back to the XML HMRC would make of it.

describe('jsonToXml', () => {
  it('writes the root with its attributes, children in order, arrays repeated, numbers as text', () => {
    const xml = jsonToXml(
      JSON.stringify({
        'n1:CC044C': {
          '@PhaseID': 'NCTS5.0',
          '@xmlns:n1': 'http://ncts.dgtaxud.ec',
          messageSender: 'GB123456789000',
          Seal: [{ sequenceNumber: 1, identifier: 'A&B' }, { sequenceNumber: 2 }],
          skipped: null,
          flag: 0,
        },
      }),
    );
    expect(xml).toBe(
      '<?xml version="1.0" encoding="UTF-8"?>\n' +
        '<ncts:CC044C PhaseID="NCTS5.0" xmlns:ncts="http://ncts.dgtaxud.ec">' +
        '<messageSender>GB123456789000</messageSender>' +
        '<Seal><sequenceNumber>1</sequenceNumber><identifier>A&amp;B</identifier></Seal>' +
        '<Seal><sequenceNumber>2</sequenceNumber></Seal>' +
        '<flag>0</flag>' +
        '</ncts:CC044C>',
    );
  });

  it.each([
    ['not JSON', '{'],
    ['an array', '[]'],
    ['two roots', '{"a":{},"b":{}}'],
    ['a root that is text', '{"n1:CC015C":"x"}'],
    ['an element name XML cannot have', '{"n1:CC015C":{"a b":"x"}}'],
    ['an array inside an array', '{"n1:CC015C":{"a":[["x"]]}}'],
  ])('refuses %s', (_what, text) => {
    expect(jsonToXml(text)).toBeUndefined();
  });

  it('refuses nesting deeper than any NCTS message', () => {
    let content: Record<string, unknown> = { leaf: 'x' };
    for (let depth = 0; depth < 100; depth += 1) content = { a: content };
    expect(jsonToXml(JSON.stringify({ 'n1:CC015C': content }))).toBeUndefined();
  });
});
