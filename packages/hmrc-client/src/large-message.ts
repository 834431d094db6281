import { refused, type CallOptions } from './bearer.js';
import type { UploadRequest } from './ctc-responses.js';
import type { HmrcResult } from './errors.js';
import { buildUploadForm } from './multipart.js';
import type { HmrcTransport } from './transport.js';

/**
 * Step 2 of the large-message route (reference §3.4): the file goes to the `uploadRequest.href`
 * HMRC returned, which is an Upscan/S3 URL, not under HMRC_API_BASE_URL. It is the one exception
 * to invariant 5, so the URL is pinned: https (or the API base URL's own origin, which is how the
 * local sandbox serves it), no credentials, and a host from the allow-list. No Authorization
 * header: the URL is pre-signed, and our token must never leave for another host.
 */

export function checkUploadUrl(
  href: string,
  baseUrl: string,
  hostSuffixes: readonly string[],
): URL | undefined {
  let url: URL;
  try {
    url = new URL(href);
  } catch {
    return undefined;
  }
  if (url.username !== '' || url.password !== '') return undefined;
  if (url.origin === new URL(baseUrl).origin) return url;
  if (url.protocol !== 'https:') return undefined;
  const host = url.hostname.toLowerCase();
  const allowed = hostSuffixes.some((suffix) => {
    const rule = suffix.toLowerCase();
    return rule.startsWith('.') ? host.endsWith(rule) && host.length > rule.length : host === rule;
  });
  return allowed ? url : undefined;
}

/** multipart/form-data: the fields first, in HMRC's order, then `file` (application/xml) last. */
export async function uploadLargeMessage(
  transport: HmrcTransport,
  hostSuffixes: readonly string[],
  uploadRequest: UploadRequest,
  xml: string | Buffer,
  options: CallOptions,
): Promise<HmrcResult<{ status: number }>> {
  const url = checkUploadUrl(uploadRequest.href, transport.baseUrl, hostSuffixes);
  if (url === undefined) return refused('upload URL is not https on an allowed upload host');
  const form = buildUploadForm(
    uploadRequest.fields,
    typeof xml === 'string' ? Buffer.from(xml, 'utf8') : xml,
  );
  const result = await transport.sendToUploadUrl(url, {
    endpoint: 'POST {uploadRequest.href}',
    method: 'POST',
    headers: { 'content-type': form.contentType },
    body: form.body,
    maxBytes: 1024 * 1024,
    signal: options.signal,
  });
  return result.ok ? { ok: true, status: result.response.status } : result;
}
