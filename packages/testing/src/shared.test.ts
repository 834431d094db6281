import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeWithShared } from './shared.js';

// An optional suite that needs ../shared must skip, saying why, in a clone that has none, and
// must not touch the missing directory while Jest collects its tests.

const present = mkdtempSync(join(tmpdir(), 'ctc-hub-shared-'));
writeFileSync(join(present, 'marker.txt'), 'reference material');
const absent = join(present, 'missing', 'shared');
afterAll(() => rmSync(present, { recursive: true, force: true }));

const warnings: string[] = [];
let bodyCalledWithoutShared = false;
const consoleWarn = console.warn;
console.warn = (message: string) => warnings.push(message);
try {
  describeWithShared(
    'a conformance suite without ../shared',
    () => {
      bodyCalledWithoutShared = true;
      it('would read ../shared', () => {
        throw new Error('ran although ../shared is absent');
      });
    },
    absent,
  );
} finally {
  console.warn = consoleWarn;
}

describeWithShared(
  'a conformance suite with ../shared',
  (sharedPath) => {
    it('reads files under it', () => {
      expect(readFileSync(sharedPath('marker.txt'), 'utf8')).toBe('reference material');
    });
  },
  present,
);

describe('describeWithShared without ../shared', () => {
  it('never calls the suite body and says what is missing', () => {
    expect(bodyCalledWithoutShared).toBe(false);
    expect(warnings).toEqual([
      `a conformance suite without ../shared: skipped, needs ../shared (HMRC's reference material beside the repository): ${absent} is absent`,
    ]);
  });
});
