/**
 * Query parameters for HMRC list endpoints, validated before anything is sent. Values are
 * percent-encoded by the transport (date-times must be: `2021-06-21T09%3A00%2B00%3A00`, reference
 * §3.2).
 */

export type QueryPairs = [string, string][];
export type QueryResult = { ok: true; query: QueryPairs } | { ok: false; message: string };

/** ISO 8601 date-time with a zone; a time without one would be read in HMRC's zone, not ours. */
const isoDateTime = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})$/;

export type DateTimeInput = Date | string;

export function formatDateTime(value: DateTimeInput): string | undefined {
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? undefined : value.toISOString();
  if (typeof value !== 'string' || !isoDateTime.test(value) || Number.isNaN(Date.parse(value))) {
    return undefined;
  }
  return value;
}

/** Collects parameters in order; the first invalid one decides the error. */
export class QueryBuilder {
  private readonly pairs: QueryPairs = [];
  private problem: string | undefined;

  dateTime(name: string, value: DateTimeInput | undefined): this {
    if (value === undefined) return this;
    const text = formatDateTime(value);
    if (text === undefined)
      this.fail(`${name} must be an ISO 8601 date-time with a zone (or a Date)`);
    else this.pairs.push([name, text]);
    return this;
  }

  positiveInt(name: string, value: number | undefined, max?: number): this {
    if (value === undefined) return this;
    if (!Number.isSafeInteger(value) || value < 1 || (max !== undefined && value > max)) {
      this.fail(`${name} must be an integer from 1${max === undefined ? '' : ` to ${max}`}`);
    } else {
      this.pairs.push([name, String(value)]);
    }
    return this;
  }

  text(name: string, value: string | undefined, pattern: RegExp, rule: string): this {
    if (value === undefined) return this;
    if (typeof value !== 'string' || !pattern.test(value)) this.fail(`${name} ${rule}`);
    else this.pairs.push([name, value]);
    return this;
  }

  build(): QueryResult {
    return this.problem === undefined
      ? { ok: true, query: this.pairs }
      : { ok: false, message: this.problem };
  }

  private fail(message: string): void {
    this.problem ??= message;
  }
}
