import type { FeedEvent } from './read.js';

/**
 * One change-feed event as clients see it: in GET /v1/events, as the `data` of a stream event and
 * inside a webhook body. The same object everywhere, so one parser serves all three; it lives
 * here, beside the feed, because both the api and the worker's webhooks send it.
 * `cursor` resumes the feed just after this event.
 */
export interface FeedEventJson {
  cursor: string;
  kind: string;
  createdAt: string;
  movementType: string | null;
  movementId: string | null;
  messageId: string | null;
  submissionId: string | null;
  eori: string | null;
  data: Record<string, unknown>;
  _links: Record<string, { href: string }>;
}

// The api's paths (HMRC-compatible movement and message resources, our submissions).
const collections = { departure: 'departures', arrival: 'arrivals' } as const;

export function feedEventJson(event: FeedEvent): FeedEventJson {
  const links: Record<string, { href: string }> = {};
  const collection =
    event.movementType === 'departure' || event.movementType === 'arrival'
      ? collections[event.movementType]
      : undefined;
  if (collection !== undefined && event.movementId !== null) {
    const movement = `/customs/transits/movements/${collection}/${event.movementId}`;
    links.movement = { href: movement };
    if (event.messageId !== null)
      links.message = { href: `${movement}/messages/${event.messageId}` };
  }
  if (event.submissionId !== null)
    links.submission = { href: `/v1/submissions/${event.submissionId}` };
  return {
    cursor: event.cursor,
    kind: event.kind,
    createdAt: event.createdAt.toISOString(),
    movementType: event.movementType,
    movementId: event.movementId,
    messageId: event.messageId,
    submissionId: event.submissionId,
    eori: event.eori,
    data: event.data,
    _links: links,
  };
}
