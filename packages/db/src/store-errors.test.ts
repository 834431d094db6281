import { classifyStoreError, sqlStateOf } from './store-errors.js';

/** An error as pg's DatabaseError carries it: the server's SQLSTATE and severity. */
const serverError = (code: string) =>
  Object.assign(new Error(`server said ${code}`), { code, severity: 'ERROR' });

describe('classifyStoreError', () => {
  it.each([
    ['08006', 'connection failure'],
    ['57P01', 'admin shutdown'],
    ['57014', 'statement timeout'],
    ['53100', 'disk full'],
    ['53300', 'too many connections'],
    ['40001', 'serialization failure'],
    ['40P01', 'deadlock'],
    ['25006', 'read-only transaction after a failover'],
    ['55P03', 'lock timeout'],
    ['58030', 'I/O error'],
    ['3D000', 'database dropped'],
  ])('%s (%s) fails the whole batch: the database, not a record', (code) => {
    expect(classifyStoreError(serverError(code))).toBe('database');
  });

  it.each([
    ['22001', 'value too long'],
    ['22P05', 'untranslatable character'],
    ['23502', 'not null'],
    ['23514', 'check constraint'],
    ['54000', 'index row too large'],
  ])('%s (%s) belongs to the record that carried the value', (code) => {
    expect(classifyStoreError(serverError(code))).toBe('record');
  });

  it.each([
    ['XX000', 'internal error (TOAST)'],
    ['42804', 'datatype mismatch'],
    ['P0001', 'raised by a trigger'],
    ['0A000', 'feature not supported'],
    ['25P02', 'in failed transaction'],
  ])('%s (%s) is isolated to find out whose it is', (code) => {
    expect(classifyStoreError(serverError(code))).toBe('unknown');
  });

  it('treats driver and socket errors (no SQLSTATE) as the database', () => {
    expect(classifyStoreError(new Error('Connection terminated unexpectedly'))).toBe('database');
    expect(classifyStoreError(new Error('timeout exceeded when trying to connect'))).toBe(
      'database',
    );
    const reset = Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' });
    expect(sqlStateOf(reset)).toBeUndefined();
    expect(classifyStoreError(reset)).toBe('database');
  });

  it('isolates exceptions thrown while building a statement from a record', () => {
    expect(classifyStoreError(new TypeError('Do not know how to serialize a BigInt'))).toBe(
      'unknown',
    );
  });
});
