/**
 * A URL fit for a log line or an error message: the password (and nothing else) replaced by
 * `***`. A value that is not a URL is not echoed at all, since it may be a secret pasted into the
 * wrong variable.
 */
export function redactUrl(value: string): string {
  if (!URL.canParse(value)) return '(not a URL)';
  const url = new URL(value);
  if (url.password !== '') url.password = '***';
  return url.toString();
}
