import { readFileSync } from 'node:fs';
import { fixturePath } from '@ctc-hub/testing';

/**
 * Bodies from HMRC's trader test pack (packages/testing/fixtures/hmrc-postman), with the
 * variables its pre-request scripts fill in filled the same way, for e2e tests that play a
 * scenario through ctc-hub's /v1 routes.
 */

interface Item {
  name: string;
  item?: Item[];
  request?: { method: string; body?: { raw?: string } };
}

const files = {
  GB: '11B_P5_TT_E2E_GB_Small_Messages.postman_collection.json',
  XI: '12B_P5_TT_E2E_XI_Small_Messages.postman_collection.json',
} as const;

const cache = new Map<string, Item>();
const load = (pack: keyof typeof files): Item => {
  let collection = cache.get(pack);
  if (collection === undefined) {
    collection = JSON.parse(
      readFileSync(fixturePath(`hmrc-postman/${files[pack]}`), 'utf8'),
    ) as Item;
    cache.set(pack, collection);
  }
  return collection;
};

const pad = (value: number) => String(value).padStart(2, '0');
const dateTime = (date: Date) =>
  `${date.getUTCFullYear()}-${pad(date.getUTCMonth() + 1)}-${pad(date.getUTCDate())}T${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())}:${pad(date.getUTCSeconds())}`;

let counter = 0;

/** The raw body of the request of `scenario` (e.g. DSGB9) whose name starts with `request`. */
export function packBody(
  pack: keyof typeof files,
  scenario: string,
  request: string,
  overrides: { lrn?: string; mrn?: string } = {},
): string {
  const find = (items: Item[]): Item | undefined => {
    for (const item of items) {
      if (item.item !== undefined) {
        if (item.name.startsWith(`${scenario}:`) || item.name.startsWith(`${scenario} `)) {
          return item.item.find((leaf) => leaf.name.startsWith(request));
        }
        const found = find(item.item);
        if (found !== undefined) return found;
      }
    }
    return undefined;
  };
  const item = find(load(pack).item ?? []);
  const raw = item?.request?.body?.raw;
  if (raw === undefined) throw new Error(`no request ${scenario} / ${request} in the ${pack} pack`);
  const now = new Date();
  const later = new Date(now.getTime() + 14 * 86_400_000);
  counter += 1;
  const values: Record<string, string> = {
    LRN: overrides.lrn ?? `E2E${Date.now().toString(36).toUpperCase()}${counter}`,
    limitDate: dateTime(later).slice(0, 10),
    preparationDateAndTime: dateTime(now),
    arrivalTime: dateTime(later),
    arrivalNotificationDateAndTime: dateTime(now),
    requestDateAndTime: dateTime(now),
    decisionDateAndTime: dateTime(now),
    unloadingDate: dateTime(now).slice(0, 10),
    messageIdentification: String(11190913102542 + counter),
    IntConRefMES11: String(21190913102542 + counter),
  };
  let body = raw.replace(/\{\{(\w+)\}\}/g, (whole, name: string) => values[name] ?? whole);
  if (overrides.mrn !== undefined)
    body = body.replace(/<MRN>[^<]*<\/MRN>/, `<MRN>${overrides.mrn}</MRN>`);
  if (overrides.lrn !== undefined)
    body = body.replace(/<LRN>[^<]+<\/LRN>/, `<LRN>${overrides.lrn}</LRN>`);
  return body;
}
