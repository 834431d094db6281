import { execFileSync } from 'node:child_process';
import { buildIE015 } from '@ctc-hub/ncts-testkit';
import { parseXmllintErrors, XmllintValidator, xsdRoot } from './validation.js';

// The xmllint fallback is what submissions are checked with when the ncts XsdValidator is
// unavailable; these run only where libxml2-utils is installed.
const hasXmllint = (() => {
  try {
    execFileSync('xmllint', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();
const itWithXmllint = hasXmllint ? it : it.skip;

describe('xmllint fallback', () => {
  itWithXmllint(
    'accepts a valid IE015 and reports errors of an invalid one with line numbers',
    async () => {
      const validator = new XmllintValidator(xsdRoot());
      expect(await validator.validate(Buffer.from(buildIE015()), 'CC015C', 'phase5')).toEqual({
        ok: true,
      });
      const invalid = buildIE015().replace('<declarationType>T1</declarationType>', '');
      const result = await validator.validate(Buffer.from(invalid), 'CC015C', 'phase5');
      expect(result.ok).toBe(false);
      if (!result.ok) {
        expect(result.errors[0]).toEqual({
          lineNumber: 10,
          columnNumber: 1,
          message: expect.stringContaining('additionalDeclarationType'),
        });
      }
      const garbage = await validator.validate(Buffer.from('not xml'), 'CC015C', 'phase5');
      expect(garbage.ok).toBe(false);
    },
  );

  it('parses xmllint’s stderr', () => {
    const stderr = [
      "-:14: element limitDate: Schemas validity error : Element 'limitDate': This element is not expected.",
      "-:1: parser error : Start tag expected, '<' not found",
      '- fails to validate',
    ].join('\n');
    expect(parseXmllintErrors(stderr)).toEqual([
      {
        lineNumber: 14,
        columnNumber: 1,
        message: "Element 'limitDate': This element is not expected.",
      },
      { lineNumber: 1, columnNumber: 1, message: "Start tag expected, '<' not found" },
    ]);
  });
});
