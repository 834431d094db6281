import { buildMessage, type GeneratedMessageType } from './builders.js';
import { maxGoodsItems, type MessageParams } from './params.js';

/** Types with goods items, which buildMessageOfSize can grow. */
export const sizableMessageTypes = ['IE015', 'IE013', 'IE029', 'IE043', 'IE025'] as const;
export type SizableMessageType = (typeof sizableMessageTypes)[number];

export interface SizeOptions {
  /**
   * Pad to exactly `targetBytes` with an XML comment before the closing root tag (comments do
   * not affect schema validity). Useful for boundaries such as 80,000 vs 80,001 bytes.
   */
  exact?: boolean;
}

// Goods item content repeats with this period (commodity catalogue x remark rotation), so a
// build with 1 + period items measures the average item size exactly.
const period = 8;
// IE025 items have no documents, so they cannot grow per item.
const maxDetails = (type: SizableMessageType) => (type === 'IE025' ? 0 : 98);

const byteSize = (xml: string) => Buffer.byteLength(xml, 'utf8');

/**
 * Builds a schema-valid message of at least `targetBytes` (UTF-8) by adding goods items, and
 * when 1,999 items (NCTS's maximum) are not enough, more documents per item. Sizes are
 * estimated from two small builds, so a large message is built once or twice, not searched.
 */
export function buildMessageOfSize(
  type: SizableMessageType,
  targetBytes: number,
  params: MessageParams = {},
  options: SizeOptions = {},
): string {
  if (!(sizableMessageTypes as readonly string[]).includes(type)) {
    throw new RangeError(
      `buildMessageOfSize supports ${sizableMessageTypes.join(', ')}, not ${type}`,
    );
  }
  // Fix ids and time once, so every trial build has the same header bytes.
  const fixed: MessageParams = { ...params };
  const probe = buildMessage(type as GeneratedMessageType, { ...fixed, goodsItemCount: 1 });
  for (const field of [
    'mrn',
    'lrn',
    'messageIdentification',
    'grn',
    'correlationIdentifier',
  ] as const) {
    if (fixed[field] === undefined) fixed[field] = valueOf(probe, field);
  }
  fixed.preparationDateAndTime ??= valueOf(probe, 'preparationDateAndTime');

  const measure = (goodsItemCount: number, detailsPerItem: number) =>
    byteSize(
      buildMessage(type as GeneratedMessageType, { ...fixed, goodsItemCount, detailsPerItem }),
    );

  let details = 0;
  const base = measure(1, 0);
  let perItem = (measure(1 + period, 0) - base) / period;
  if (base + perItem * (maxGoodsItems - 1) < targetBytes && maxDetails(type) > 0) {
    const perDetail = (measure(1 + period, 1) - measure(1, 1)) / period - perItem;
    const needed = (targetBytes - base) / (maxGoodsItems - 1) - perItem;
    details = Math.min(maxDetails(type), Math.max(1, Math.ceil(needed / perDetail)));
    perItem = (measure(1 + period, details) - measure(1, details)) / period;
  }
  let count = Math.min(maxGoodsItems, Math.max(1, 1 + Math.ceil((targetBytes - base) / perItem)));
  let xml = buildMessage(type as GeneratedMessageType, {
    ...fixed,
    goodsItemCount: count,
    detailsPerItem: details,
  });
  // Item numbers gain digits as they grow, so the estimate can fall a little short.
  while (byteSize(xml) < targetBytes) {
    if (count < maxGoodsItems) {
      count = Math.min(
        maxGoodsItems,
        count + Math.max(1, Math.ceil((targetBytes - byteSize(xml)) / perItem)),
      );
    } else if (details < maxDetails(type)) {
      details += 1;
    } else {
      throw new RangeError(`${type} cannot reach ${targetBytes} bytes within the schema's limits`);
    }
    xml = buildMessage(type as GeneratedMessageType, {
      ...fixed,
      goodsItemCount: count,
      detailsPerItem: details,
    });
  }
  return options.exact === true
    ? padToExactSize(xml, targetBytes, type, fixed, count, details)
    : xml;
}

function padToExactSize(
  xml: string,
  targetBytes: number,
  type: SizableMessageType,
  fixed: MessageParams,
  count: number,
  details: number,
): string {
  let candidate = xml;
  let items = count;
  // Overshoot must leave room to pad; step down an item at a time until the gap fits a comment.
  while (byteSize(candidate) > targetBytes - 7 && items > 1) {
    items -= 1;
    candidate = buildMessage(type as GeneratedMessageType, {
      ...fixed,
      goodsItemCount: items,
      detailsPerItem: details,
    });
  }
  const gap = targetBytes - byteSize(candidate);
  if (gap === 0) return candidate;
  if (gap < 7) throw new RangeError(`cannot pad ${type} to exactly ${targetBytes} bytes`);
  const closing = candidate.lastIndexOf('</ncts:');
  // '<!--' + filler + '-->' is exactly `gap` bytes.
  const comment = `<!--${'x'.repeat(gap - 7)}-->`;
  return `${candidate.slice(0, closing)}${comment}${candidate.slice(closing)}`;
}

function valueOf(xml: string, element: string): string | undefined {
  const match = new RegExp(`<${element}>([^<]*)</${element}>`).exec(xml);
  return match?.[1];
}
