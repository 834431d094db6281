import createClient, { type Client, type ClientOptions } from 'openapi-fetch';
import type { paths } from './schema.js';

/**
 * Typed client of ctc-hub's API: openapi-fetch over the `paths` types generated from the api's
 * OpenAPI document (schema.ts, `pnpm client:generate`). Every path, parameter and answer is
 * checked by the compiler against what the api documents:
 *
 *   const hub = createHubClient({ baseUrl: 'http://localhost:8081', apiKey });
 *   const { data, error } = await hub.GET('/v1/submissions', { params: { query: { status: 'failed' } } });
 */

export type { paths, components } from './schema.js';
export type HubClient = Client<paths>;

export interface HubClientOptions extends Omit<ClientOptions, 'baseUrl'> {
  /** Where the api listens, e.g. http://localhost:8081 (CTC_HUB_URL). */
  baseUrl: string;
  /** An API key from API_KEYS (CTC_HUB_API_KEY), sent as `Authorization: Bearer`. */
  apiKey?: string;
}

export function createHubClient(options: HubClientOptions): HubClient {
  const { apiKey, baseUrl, headers, ...rest } = options;
  return createClient<paths>({
    baseUrl: baseUrl.replace(/\/+$/, ''),
    headers: {
      ...(apiKey !== undefined && { authorization: `Bearer ${apiKey}` }),
      ...(headers as Record<string, string> | undefined),
    },
    ...rest,
  });
}

/** The client configured from CTC_HUB_URL (default http://localhost:8081) and CTC_HUB_API_KEY. */
export function hubClientFromEnv(env: NodeJS.ProcessEnv = process.env): HubClient {
  return createHubClient({
    baseUrl: env.CTC_HUB_URL ?? 'http://localhost:8081',
    ...(env.CTC_HUB_API_KEY !== undefined && { apiKey: env.CTC_HUB_API_KEY }),
  });
}
