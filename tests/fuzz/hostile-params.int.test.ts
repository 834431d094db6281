// Risk retired: a hostile value in any parameter of any api route (query, path, header, JSON
// field) reaching PostgreSQL, which refuses NUL bytes, unpaired surrogates and out-of-range
// values, and so turning a client's mistake into a 500 (and an error in our logs). Walks every
// route the app registers with every parameter it reads; each hostile value must be answered
// 400 with a JSON body naming the parameter, never 5xx.
import { randomUUID } from 'node:crypto';
import { keys, startTestApi, type TestApi } from '../../services/api/src/test-support/api.js';
import { routePaths } from '../../services/api/src/http/input-guard.js';
import {
  headerValues,
  jsonValues,
  routeCases,
  routesWithoutParams,
  valuesFor,
  type HostileValue,
  type Param,
  type RouteCase,
} from './corpus/params.js';
import { rawRequest, socketExchange, type RawResponse } from './support.js';

let api: TestApi;
beforeAll(async () => {
  // Hundreds of requests from one key in a few seconds are the point here, not abuse.
  api = await startTestApi({ API_RATE_LIMIT_PER_SECOND: '0' });
});
afterAll(async () => {
  await api?.close();
});

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const namedBy = (param: Param) => param.named ?? new RegExp(escapeRegExp(param.name), 'i');

interface Hostile {
  path?: Record<string, string>;
  query?: Record<string, string>;
  headers?: Record<string, string>;
  json?: { field: string; text: string };
}

/** Path and query values are already percent-encoded (or deliberately not). */
function urlOf(route: RouteCase, hostile: Hostile): string {
  const pathValues = { ...route.path, ...hostile.path };
  const path = route.route.replace(/:(\w+)/g, (_, name: string) => pathValues[name]!);
  const query = { ...route.baseQuery, ...hostile.query };
  const search = Object.entries(query)
    .map(([name, value]) => `${name}=${value}`)
    .join('&');
  return `${path}${search === '' ? '' : `?${search}`}`;
}

function bodyOf(route: RouteCase, hostile: Hostile): { type: string; body: string } | undefined {
  if (route.json !== undefined) {
    const placeholder = `__hostile_${randomUUID()}__`;
    const fields =
      hostile.json === undefined
        ? route.json.base
        : { ...route.json.base, [hostile.json.field]: placeholder };
    const text = JSON.stringify(fields).replace(
      JSON.stringify(placeholder),
      hostile.json?.text ?? '',
    );
    return { type: 'application/json', body: text };
  }
  if (route.body !== undefined) return { type: route.body.contentType, body: route.body.text() };
  return undefined;
}

function send(route: RouteCase, hostile: Hostile): Promise<RawResponse> {
  const body = bodyOf(route, hostile);
  return rawRequest(`${api.baseUrl}${urlOf(route, hostile)}`, {
    method: route.method,
    headers: {
      authorization: `Bearer ${keys.all}`,
      ...(body && { 'content-type': body.type }),
      ...route.baseHeaders,
      ...hostile.headers,
    },
    ...(body && { body: body.body }),
  });
}

/** A header value node:http will not send (NUL), written on a raw socket. */
async function sendRawHeader(route: RouteCase, name: string, value: string) {
  const body = bodyOf(route, {});
  const bytes = Buffer.from(body?.body ?? '', 'utf8');
  const headers = [
    `${route.method} ${urlOf(route, {})} HTTP/1.1`,
    'Host: 127.0.0.1',
    `Authorization: Bearer ${keys.all}`,
    ...Object.entries(route.baseHeaders ?? {}).map(([header, text]) => `${header}: ${text}`),
    ...(body ? [`Content-Type: ${body.type}`, `Content-Length: ${bytes.length}`] : []),
    `${name}: ${value}`,
    'Connection: close',
  ];
  const exchange = await socketExchange(api.baseUrl, {
    head: Buffer.concat([Buffer.from(`${headers.join('\r\n')}\r\n\r\n`, 'latin1'), bytes]),
    giveUpMs: 5000,
  });
  const contentType = /^content-type:\s*(.*)$/im.exec(exchange.response)?.[1];
  return { status: exchange.status, json: exchange.json, contentType };
}

/** What is wrong with an answer, or undefined when it is what the value deserves. */
function verdict(
  answer: { status: number; json: unknown; contentType?: string | undefined },
  refused: boolean,
  param: Param,
): string | undefined {
  if (answer.status === 0 || answer.status >= 500) return `answered ${answer.status}`;
  if (!refused) return undefined;
  if (answer.status !== 400) return `answered ${answer.status}, not 400`;
  if (!/^application\/json/.test(answer.contentType ?? ''))
    return `answered ${answer.contentType ?? 'no content type'}, not JSON`;
  const text = JSON.stringify(answer.json);
  if (!namedBy(param).test(text)) return `400 does not name ${param.name}: ${text.slice(0, 200)}`;
  return undefined;
}

const mustRefuse = (route: RouteCase, param: Param, value: HostileValue) =>
  value.guard === true || (value.refused && !param.guardOnly && !route.guardOnly);

type Slot = 'query' | 'path' | 'header' | 'json';
const cases: [string, RouteCase, Slot, Param][] = routeCases.flatMap((route) => {
  const label = (slot: Slot, param: Param) =>
    `${route.method} ${urlOf(route, {})} ${slot} ${param.name}`;
  return [
    ...(route.pathParams ?? []).map((p) => [label('path', p), route, 'path', p] as const),
    ...(route.query ?? []).map((p) => [label('query', p), route, 'query', p] as const),
    ...(route.headers ?? []).map((p) => [label('header', p), route, 'header', p] as const),
    ...(route.json?.fields ?? []).map((p) => [label('json', p), route, 'json', p] as const),
  ] as [string, RouteCase, Slot, Param][];
});

describe('every parameter of every route', () => {
  it.each(cases)('%s', async (_label, route, slot, param) => {
    const failures: string[] = [];
    if (slot === 'json') {
      for (const value of jsonValues) {
        const answer = await send(route, { json: { field: param.name, text: value.json } });
        const problem = verdict(
          { ...answer, contentType: String(answer.headers['content-type'] ?? '') },
          true,
          param,
        );
        if (problem !== undefined) failures.push(`${value.label}: ${problem}`);
      }
    } else if (slot === 'header') {
      for (const value of headerValues) {
        const answer = value.guard
          ? await sendRawHeader(route, param.name, value.wire)
          : await send(route, { headers: { [param.name]: value.wire } }).then((response) => ({
              ...response,
              contentType: String(response.headers['content-type'] ?? ''),
            }));
        const problem = verdict(answer, mustRefuse(route, param, value), param);
        if (problem !== undefined) failures.push(`${value.label}: ${problem}`);
      }
    } else {
      for (const value of valuesFor(param, route)) {
        const answer = await send(route, { [slot]: { [param.name]: value.wire } });
        const problem = verdict(
          { ...answer, contentType: String(answer.headers['content-type'] ?? '') },
          mustRefuse(route, param, value),
          param,
        );
        if (problem !== undefined) failures.push(`${value.label} (${value.wire}): ${problem}`);
      }
    }
    expect(failures).toEqual([]);
  });
});

describe('the corpus', () => {
  it('covers every route the api registers', () => {
    const registered = routePaths(api.app).map(({ method, path }) => `${method} ${path}`);
    const covered = new Set([
      ...routeCases.map((route) => `${route.method} ${route.route}`),
      ...routesWithoutParams,
    ]);
    expect(registered.filter((route) => !covered.has(route))).toEqual([]);
    // And nothing in the corpus is stale.
    expect([...covered].filter((route) => !registered.includes(route))).toEqual([]);
  });
});
