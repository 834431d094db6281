import { refused, type CallOptions } from './bearer.js';
import type { UploadRequest } from './ctc-responses.js';
import type { HmrcResult } from './errors.js';
import { buildUploadForm } from './multipart.js';
import type { HmrcTransport } from './transport.js';

/**
 * Step 2 of the large-message route (reference §3.4): the file goes to the `uploadRequest.href`
 * HMRC returned, which is on HMRC's Upscan upload proxy, not under HMRC_API_BASE_URL. It is the
 * one exception to invariant 5, so the URL is pinned: https, no credentials, and a host on the
 * allow-list (HMRC_UPLOAD_HOSTS, by default the upload host of HMRC's environment; see
 * packages/config/src/hmrc-environments.ts). No Authorization header: the form is pre-signed,
 * and our token must never leave for another host. Redirects are not followed (transport.ts).
 */

export interface UploadPolicy {
  /** `host` or `host:port` (exact), or `.domain` (any host under it, default port). */
  hosts: readonly string[];
  /** Plain http allowed too (a stand-in of HMRC on http; config refuses it against HMRC). */
  allowHttp: boolean;
}

export type UploadUrlCheck = { ok: true; url: URL } | { ok: false; reason: string };

const defaultPorts: Record<string, string> = { 'https:': '443', 'http:': '80' };

export function checkUploadUrl(href: string, policy: UploadPolicy): UploadUrlCheck {
  let url: URL;
  try {
    url = new URL(href);
  } catch {
    return { ok: false, reason: 'the upload URL is not a URL' };
  }
  const scheme = url.protocol;
  if (scheme !== 'https:' && !(scheme === 'http:' && policy.allowHttp))
    return { ok: false, reason: `the upload URL must be https, not ${scheme.replace(':', '')}` };
  if (url.username !== '' || url.password !== '')
    return { ok: false, reason: 'the upload URL carries credentials' };
  // WHATWG URL has lower-cased, IDNA-encoded and dot-normalised the host; the port is '' when
  // it is the scheme's default.
  const host = url.hostname;
  const port = url.port === '' ? defaultPorts[scheme]! : url.port;
  const allowed = policy.hosts.some((entry) => {
    const rule = entry.toLowerCase();
    const colon = rule.lastIndexOf(':');
    const [name, rulePort] =
      colon === -1 ? [rule, defaultPorts[scheme]!] : [rule.slice(0, colon), rule.slice(colon + 1)];
    if (rulePort !== port) return false;
    // `.domain`: a host under it, label boundary included (evil-domain and domain.evil do not).
    return name.startsWith('.') ? host.endsWith(name) && host.length > name.length : host === name;
  });
  if (!allowed)
    return {
      ok: false,
      reason: `upload host ${url.host} is not allowed (HMRC_UPLOAD_HOSTS: ${policy.hosts.join(', ') || 'none'})`,
    };
  return { ok: true, url };
}

/** multipart/form-data: the fields first, in HMRC's order, then `file` (application/xml) last. */
export async function uploadLargeMessage(
  transport: HmrcTransport,
  policy: UploadPolicy,
  uploadRequest: UploadRequest,
  xml: string | Buffer,
  options: CallOptions,
): Promise<HmrcResult<{ status: number }>> {
  const checked = checkUploadUrl(uploadRequest.href, policy);
  if (!checked.ok) return refused(checked.reason);
  const url = checked.url;
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
