/**
 * HMRC's API environments a trader's software can reach, and the host each one's large-message
 * route hands out upload URLs on.
 *
 * The CTC Traders API asks Upscan for an upload form through `upscan/v2/initiate`
 * (hmrc/common-transit-convention-traders `app/connectors/UpscanConnector.scala`), and v2 answers
 * with `${uploadProxy.url}/v1/uploads/${bucket}` (hmrc/upscan-initiate
 * `PrepareUploadController.scala`), i.e. HMRC's upscan-upload-proxy, never an S3 host: only the
 * retired v1 initiate answered `https://<bucket>.s3.amazonaws.com`. The proxy URL of each
 * environment lives in HMRC's private configuration; the public traces are HMRC's API
 * documentation for production (`href: https://www.upscan.tax.service.gov.uk`, VOA Business
 * Rates evidence upload), an integrator's test against HMRC's sandbox
 * (`https://www.externaltest.upscan.tax.service.gov.uk/v1/uploads/fus-inbound-…`), and HMRC's own
 * QA/staging scripts (`www.qa.…`, `www.staging.…`, which third parties cannot reach).
 */
export interface HmrcEnvironment {
  name: 'production' | 'sandbox';
  apiHost: string;
  uploadHosts: readonly string[];
}

export const hmrcEnvironments: readonly HmrcEnvironment[] = [
  {
    name: 'production',
    apiHost: 'api.service.hmrc.gov.uk',
    uploadHosts: ['www.upscan.tax.service.gov.uk'],
  },
  {
    name: 'sandbox',
    apiHost: 'test-api.service.hmrc.gov.uk',
    uploadHosts: ['www.externaltest.upscan.tax.service.gov.uk'],
  },
];

const hostOf = (baseUrl: string): string | undefined => {
  try {
    return new URL(baseUrl).hostname.toLowerCase();
  } catch {
    return undefined;
  }
};

/** The HMRC environment an API base URL points at; undefined for anything else (a stand-in). */
export function hmrcEnvironmentOf(baseUrl: string): HmrcEnvironment | undefined {
  const host = hostOf(baseUrl);
  return hmrcEnvironments.find((environment) => environment.apiHost === host);
}

/**
 * Whether a base URL is HMRC itself (any of its domains, known environment or not): settings
 * meant for tests against a stand-in are refused there.
 */
export function isHmrcHost(baseUrl: string): boolean {
  const host = hostOf(baseUrl);
  if (host === undefined) return false;
  return ['hmrc.gov.uk', 'tax.service.gov.uk'].some(
    (domain) => host === domain || host.endsWith(`.${domain}`),
  );
}
