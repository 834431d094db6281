import type { Express, Response } from 'express';

/**
 * `response.json` for the common case, without what Express' version does on every call: parse
 * and re-format the Content-Type it has just chosen (mime lookup, charset parameter), copy a body
 * over 1,000 characters into a Buffer, and so write the headers and the body as two chunks.
 * Here the string goes to `end` as it is, and Node writes headers and body in one send.
 *
 * Only a plain GET answer takes this path: no Content-Type set yet, no conditional request
 * headers (so Express could not have answered 304), no status without a body, no
 * Transfer-Encoding. Anything else goes through Express' own `json`, unchanged. The bytes and
 * headers are the same either way (`application/json; charset=utf-8`, Content-Length).
 */
export function leanJson(app: Express): void {
  const expressJson = app.response.json;
  app.response.json = function json(this: Response, value: unknown) {
    const request = this.req;
    const status = this.statusCode;
    if (
      value === undefined ||
      request.method !== 'GET' ||
      request.headers['if-none-match'] !== undefined ||
      request.headers['if-modified-since'] !== undefined ||
      status === 204 ||
      status === 205 ||
      status === 304 ||
      this.hasHeader('Content-Type') ||
      this.hasHeader('Transfer-Encoding') ||
      app.get('json replacer') !== undefined ||
      app.get('json spaces') !== undefined ||
      app.get('json escape') === true
    )
      return expressJson.call(this, value);
    const text = JSON.stringify(value);
    this.setHeader('Content-Type', 'application/json; charset=utf-8');
    this.setHeader('Content-Length', Buffer.byteLength(text));
    this.end(text, 'utf8');
    return this;
  };
}
