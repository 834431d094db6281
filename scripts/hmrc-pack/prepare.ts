import {
  flowOf,
  isFlowRequest,
  knownFlowFaults,
  manualSteps,
  scenarioCode,
  type Pack,
} from './flows.js';

/**
 * Adapts a copy of one of HMRC's collections for a run, without touching bodies or assertions:
 *
 * - Accept: the pack sends the retired vnd.hmrc.2.0; set to the version under test.
 * - Movement ids HMRC hard-coded from its recordings (16 hex digits after departures/ or
 *   arrivals/, and `{{deptId}}`, which nothing sets) become `{{departureId}}`/`{{arrivalId}}`,
 *   the scenario's own movement (set by the pack's own POST tests). A hard-coded message id
 *   becomes the movement's first message (fetched by a runner pre-request script).
 * - LRNs: the pre-request scripts build `<prefix> + moment().format("YYMMDDHHmm")`, the same
 *   for every scenario sharing a prefix within a minute; the runner replaces that 10-character
 *   time with a 10-character value unique to the run and the request. The scripts still run.
 * - Runner scripts are added beside the pack's (never in place of them), marked `[runner]`:
 *   before a follow-up POST, wait until the movement has the messages the scenario's next flow
 *   names before it (a tester waits for the MRN before cancelling); before a flow GET, wait
 *   until the movement has as many messages as the name states and no more arrive, then check
 *   the types oldest first against the name (a test of its own, named `[runner] flow …`);
 *   after the declaration of a scenario HMRC plays by hand, ask the sandbox's officer for
 *   that manual step.
 */

export interface PostmanItem {
  id?: string;
  name: string;
  item?: PostmanItem[];
  request?: {
    method: string;
    header?: { key: string; value: string; disabled?: boolean }[];
    url: string | { raw: string; [key: string]: unknown };
    body?: { raw?: string };
  };
  event?: { listen: string; script: { exec: string[]; type?: string } }[];
}

export interface PostmanCollection {
  info: Record<string, unknown>;
  item: PostmanItem[];
  event?: unknown[];
  variable?: { key: string; value: string }[];
}

export interface FlowCheck {
  key: string;
  scenario: string;
  request: string;
  named: string[];
  accepted: string[];
}

export interface Prepared {
  collection: PostmanCollection;
  /** Item id (given by the runner) → the scenario folder's name. */
  folderOfItem: Map<string, string>;
  flowChecks: FlowCheck[];
}

const hexId = /[0-9a-f]{16}/;

function rawUrl(request: NonNullable<PostmanItem['request']>): string {
  return typeof request.url === 'string' ? request.url : request.url.raw;
}

/** Rewrites hard-coded ids; returns the URL and whether a message id was replaced. */
export function rewriteUrl(url: string): { url: string; messageId: boolean } {
  let result = url.replace(
    /\/departures\/(?:[0-9a-f]{16}|\{\{(?:deptId|departureId)\}\})/,
    '/departures/{{pack_departureId}}',
  );
  result = result.replace(
    /\/arrivals\/(?:[0-9a-f]{16}|\{\{arrivalId\}\})/,
    '/arrivals/{{pack_arrivalId}}',
  );
  const messageId = new RegExp(`/messages/${hexId.source}`).test(result);
  result = result.replace(
    new RegExp(`/messages/${hexId.source}`),
    '/messages/{{pack_firstMessageId}}',
  );
  return { url: result, messageId };
}

const collectionOf = (url: string): 'departures' | 'arrivals' =>
  /\/arrivals/.test(url) ? 'arrivals' : 'departures';

/** A Postman-sandbox script that polls the movement's messages; `then` runs with the types. */
function pollScript(
  collection: 'departures' | 'arrivals',
  body: { until: string; then: string },
): string {
  const idVar = collection === 'departures' ? 'pack_departureId' : 'pack_arrivalId';
  return `
(function () {
  const id = pm.variables.get('${idVar}');
  const url = pm.variables.get('pack_api') + '/movements/${collection}/' + id + '/messages';
  const deadline = Date.now() + Number(pm.variables.get('pack_waitMs'));
  const settleMs = Number(pm.variables.get('pack_settleMs'));
  let satisfiedAt;
  function order(response) {
    if (!response || response.code !== 200) return { types: [], ids: [] };
    const messages = response.json().messages.slice().reverse();
    messages.sort(function (a, b) { return Date.parse(a.received) - Date.parse(b.received); });
    return { types: messages.map(function (m) { return m.type; }), ids: messages.map(function (m) { return m.id; }) };
  }
  function poll() {
    pm.sendRequest({
      url: url,
      method: 'GET',
      header: { Authorization: 'Bearer ' + pm.variables.get('access_token'), Accept: pm.variables.get('pack_accept') },
    }, function (error, response) {
      const seen = order(error ? undefined : response);
      const types = seen.types;
      const ok = (function () { ${body.until} })();
      if (ok && satisfiedAt === undefined) satisfiedAt = Date.now();
      if (!ok) satisfiedAt = undefined;
      const done = (ok && Date.now() - satisfiedAt >= settleMs) || Date.now() > deadline;
      if (!done) return setTimeout(poll, 50);
      ${body.then}
    });
  }
  poll();
})();`;
}

/** A unique 10-character stand-in for moment().format("YYMMDDHHmm") in LRNs. */
function uniqueStamp(runTag: string, counter: number): string {
  return `${runTag}${counter.toString(36).toUpperCase().padStart(4, '0')}`.slice(-10);
}

export function prepareCollection(
  source: PostmanCollection,
  pack: Pack,
  options: { accept: string; runTag: string },
): Prepared {
  const collection = structuredClone(source);
  const flowChecks: FlowCheck[] = [];
  const folderOfItem = new Map<string, string>();
  let counter = 0;
  const visitFolder = (folder: PostmanItem, parents: string[]) => {
    const items = folder.item ?? [];
    const leaves = items.filter((item) => item.request !== undefined);
    const scenario = scenarioCode(folder.name);
    const manual = manualSteps.find((step) => step.match.test(folder.name));
    const posted = new Map<string, number>();
    leaves.forEach((item, index) => {
      const request = item.request!;
      item.id = `pack-${folderOfItem.size + 1}`;
      folderOfItem.set(item.id, folder.name);
      item.event ??= [];
      const scripts = (listen: string) => {
        let event = item.event!.find((candidate) => candidate.listen === listen);
        if (event === undefined) {
          event = { listen, script: { exec: [], type: 'text/javascript' } };
          item.event!.push(event);
        }
        return event.script;
      };
      // Accept: the version under test.
      for (const header of request.header ?? [])
        if (header.key.toLowerCase() === 'accept')
          header.value = header.value.replace(/vnd\.hmrc\.\d\.\d/, `vnd.hmrc.${options.accept}`);
      // Hard-coded ids.
      const { url, messageId } = rewriteUrl(rawUrl(request));
      request.url = url;
      const target = collectionOf(url);
      // Unique LRNs.
      for (const event of item.event) {
        if (event.listen !== 'prerequest') continue;
        event.script.exec = event.script.exec.map((line) =>
          line.replace(/moment\(\)\.format\("YYMMDDHHmm"\)/g, () => {
            counter += 1;
            return JSON.stringify(uniqueStamp(options.runTag, counter));
          }),
        );
      }
      if (messageId) {
        scripts('prerequest').exec.unshift(
          "// [runner] the movement's first message stands in for a message id HMRC recorded",
          ...pollScript(target, {
            until: 'return types.length > 0;',
            then: "pm.variables.set('pack_firstMessageId', seen.ids[0] || 'none');",
          }).split('\n'),
        );
      }
      // The scenario's own movement: its first request forgets the previous scenario's ids;
      // a new movement's 202 names its id.
      if (index === 0)
        scripts('prerequest').exec.unshift(
          '// [runner] a new scenario: no movement yet',
          "pm.variables.set('pack_departureId', 'none'); pm.variables.set('pack_arrivalId', 'none');",
        );
      if (request.method === 'POST' && /\/movements\/(departures|arrivals)$/.test(url))
        scripts('test').exec.unshift(
          '// [runner] remember the movement this scenario created',
          `try { if (pm.response.code === 202) { const created = pm.response.json(); const id = created.${target === 'departures' ? 'departureId' : 'arrivalId'} || created._links.self.href.split('/').pop(); pm.variables.set('${target === 'departures' ? 'pack_departureId' : 'pack_arrivalId'}', id); } } catch (error) {}`,
        );
      const body = request.body?.raw ?? '';
      const postedType = /<(?:\w+:)?CC(\d{3})C\b/.exec(body)?.[1];
      // A follow-up waits for what the scenario's next flow names before it.
      if (request.method === 'POST' && postedType !== undefined && /\/messages$/.test(url)) {
        const type = `IE${postedType}`;
        const occurrence = posted.get(type) ?? 0;
        const next = leaves
          .slice(index + 1)
          .find(
            (candidate) =>
              isFlowRequest(candidate.request!.method, candidate.name) &&
              flowOf(candidate.name).filter((code) => code === type).length > occurrence,
          );
        if (next !== undefined) {
          const flow = flowOf(next.name);
          let seenCount = -1;
          const at = flow.findIndex((code) => code === type && ++seenCount === occurrence);
          const prefix = flow.slice(0, at);
          if (prefix.length > 0)
            scripts('prerequest').exec.unshift(
              `// [runner] wait for ${prefix.join(' → ')} before posting ${type}`,
              ...pollScript(target, {
                until: `const want = ${JSON.stringify(prefix)}; return types.length >= want.length && want.every(function (t, i) { return types[i] === t; });`,
                then: '',
              }).split('\n'),
            );
        }
        posted.set(type, occurrence + 1);
      }
      if (request.method === 'POST' && postedType === '015' && manual !== undefined) {
        scripts('test').exec.push(
          `// [runner] manual step HMRC's Trader Test team performs: ${manual.why}`,
          `if (pm.response.code === 202) pm.sendRequest({ url: pm.variables.get('pack_sandbox') + '/_sandbox/movements/' + pm.variables.get('pack_departureId') + '/officer', method: 'POST', header: { 'Content-Type': 'application/json' }, body: { mode: 'raw', raw: JSON.stringify({ action: '${manual.action}' }) } }, function () {});`,
        );
      }
      if (isFlowRequest(request.method, item.name)) {
        const named = flowOf(item.name);
        const key = `${pack}/${scenario}/${item.name}`;
        const accepted = knownFlowFaults[key]?.actually ?? named;
        flowChecks.push({ key, scenario, request: item.name, named, accepted });
        const variable = `pack_flow_${flowChecks.length}`;
        scripts('prerequest').exec.unshift(
          `// [runner] wait for the ${named.length} messages the name states, then record them`,
          ...pollScript(target, {
            until: `return types.length >= ${accepted.length};`,
            then: `pm.variables.set('${variable}', JSON.stringify(types));`,
          }).split('\n'),
        );
        scripts('test').exec.push(
          `// [runner] the movement's messages, oldest first, are the flow the name states`,
          `pm.test(${JSON.stringify(`[runner] flow ${named.join(' → ')}`)}, function () {`,
          `  pm.expect(JSON.parse(pm.variables.get('${variable}') || '[]')).to.eql(${JSON.stringify(accepted)});`,
          `});`,
        );
      }
    });
    for (const child of items)
      if (child.item !== undefined) visitFolder(child, [...parents, folder.name]);
  };
  for (const top of collection.item) visitFolder(top, []);
  return { collection, flowChecks, folderOfItem };
}
