import { sql, type RawBuilder, type SqlBool } from 'kysely';

/**
 * EORI scoping. `EoriScope` is what an API key may see: undefined for every EORI, otherwise the
 * allowed list (upper-case, as auth.ts normalises them; EORIs are stored upper-case).
 */
export type EoriScope = readonly string[] | undefined;

/**
 * A movement (or a row carrying the same two columns) is visible when its enrolment EORI or the
 * EORI named in its declaration is allowed, and it is not quarantined: a movement that came
 * through a connection HMRC showed to be someone else's stays hidden from every scoped key until
 * an operator resolves it (operators' unscoped keys see it, to do so). `= any($array)` rather
 * than `IN (…)`: one parameter whatever the list length, still indexable, and an empty list is
 * simply false (`IN ()` is invalid SQL).
 */
export function movementVisible(table: string, eoris: readonly string[]): RawBuilder<SqlBool> {
  const allowed = [...eoris];
  return sql<SqlBool>`((${sql.ref(`${table}.enrollment_eori`)} = any(${allowed}::text[]) or ${sql.ref(
    `${table}.movement_eori`,
  )} = any(${allowed}::text[])) and ${sql.ref(`${table}.quarantined_at`)} is null)`;
}

/** A row with a single `eori` column (dead letters) is visible when that EORI is allowed. */
export function eoriVisible(column: string, eoris: readonly string[]): RawBuilder<SqlBool> {
  return sql<SqlBool>`${sql.ref(column)} = any(${[...eoris]}::text[])`;
}
