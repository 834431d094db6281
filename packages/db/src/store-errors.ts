/**
 * What a failed write tells about the rows it carried, so a batched writer knows whether to
 * retry the whole batch later or to look for the one record that caused it.
 *
 *  - `database`: the server, the connection or the pool failed; the rows are fine and the same
 *    batch will go through once the database does. Connection exceptions (08), insufficient
 *    resources (53: disk full, out of memory, too many connections), operator intervention (57:
 *    shutdown, crash, statement timeout or cancel), system I/O errors (58), transaction rollback
 *    (40: serialization failure, deadlock), a read-only transaction (25006, a failover to a
 *    standby), objects not in the needed state (55: lock timeout, object in use), a dropped or
 *    unusable database or role (3D, 28), a configuration file error (F0), and every error the
 *    driver raises without a SQLSTATE (connection lost, connect timeout, pool ended).
 *  - `record`: the server refused a value a record carried, and it will refuse the same value
 *    again: data exceptions (22: value too long, bad encoding, out of range), integrity
 *    constraints (23) and program limits (54: an index row over the btree limit).
 *  - `unknown`: anything else (42 from a value, XX000 from TOAST, P0001 from a trigger, 0A, an
 *    exception thrown by our own code while building the statement). It may belong to one record
 *    or to the database; isolating it tells which, and a record that still fails alone is retried
 *    with backoff rather than quarantined at once.
 */
export type StoreFailure = 'database' | 'record' | 'unknown';

const databaseClasses = new Set(['08', '53', '57', '58', '40', '55', '3D', '28', 'F0']);
const recordClasses = new Set(['22', '23', '54']);

/** The SQLSTATE of an error the server sent (pg's DatabaseError), or undefined. */
export function sqlStateOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  const severity = (error as { severity?: unknown } | null)?.severity;
  // Node's socket errors also carry a `code` (ECONNRESET); only the server's have a severity.
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) && typeof severity === 'string'
    ? code
    : undefined;
}

export function classifyStoreError(error: unknown): StoreFailure {
  const sqlState = sqlStateOf(error);
  if (sqlState === undefined) {
    // A TypeError or RangeError comes from building the statement out of one record's values
    // (a bug, or a value we did not expect); anything else without a SQLSTATE is the connection.
    return error instanceof TypeError || error instanceof RangeError ? 'unknown' : 'database';
  }
  if (sqlState === '25006') return 'database';
  const errorClass = sqlState.slice(0, 2);
  if (databaseClasses.has(errorClass)) return 'database';
  if (recordClasses.has(errorClass)) return 'record';
  return 'unknown';
}
