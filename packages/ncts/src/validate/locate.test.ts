import { elementByPath, locateIssues } from './locate.js';

const xml = [
  '<?xml version="1.0" encoding="UTF-8"?>',
  '<ncts:CC015C xmlns:ncts="http://ncts.dgtaxud.ec">',
  '  <!-- <Fake> in a comment -->',
  '  <Consignment a="x > y">',
  '    <HouseConsignment><ConsignmentItem/></HouseConsignment>',
  '    <HouseConsignment>',
  '      <ConsignmentItem><![CDATA[<NotAnElement>]]></ConsignmentItem>',
  '      <ConsignmentItem><declarationGoodsItemNumber>31271</declarationGoodsItemNumber></ConsignmentItem>',
  '    </HouseConsignment>',
  '  </Consignment>',
  '</ncts:CC015C>',
].join('\n');

describe('locateIssues', () => {
  it('gives a line-only issue the column and path of the element its message names', () => {
    const [issue] = locateIssues(xml, [
      {
        lineNumber: 8,
        columnNumber: 0,
        message: "Element 'declarationGoodsItemNumber': [facet 'maxInclusive'] The value …",
      },
    ]);
    expect(issue).toEqual({
      lineNumber: 8,
      columnNumber: 24,
      elementPath:
        '/CC015C/Consignment/HouseConsignment[2]/ConsignmentItem[2]/declarationGoodsItemNumber',
      message: expect.any(String),
    });
  });

  it('falls back to the first element on the line, and leaves positioned issues alone', () => {
    const positioned = { lineNumber: 3, columnNumber: 14, message: 'not well-formed' };
    const [first, second] = locateIssues(xml, [
      { lineNumber: 4, columnNumber: 0, message: 'Something about this line' },
      positioned,
    ]);
    expect(first).toMatchObject({ columnNumber: 3, elementPath: '/CC015C/Consignment' });
    expect(second).toBe(positioned);
  });
});

describe('elementByPath', () => {
  it('finds the first element whose path ends with the suffix, skipping comments and CDATA', () => {
    expect(elementByPath(xml, 'HouseConsignment/ConsignmentItem')).toEqual({
      name: 'ConsignmentItem',
      line: 5,
      column: 23,
      path: '/CC015C/Consignment/HouseConsignment/ConsignmentItem',
    });
    expect(elementByPath(xml, 'Fake')).toBeUndefined();
    expect(elementByPath(xml, 'NotAnElement')).toBeUndefined();
  });
});
