import { hmrcEnvironmentOf } from '@ctc-hub/config';
import type { MovementType } from '@ctc-hub/ppns';
import {
  invalid,
  parseJsonWith,
  refused,
  sendWithToken,
  type CallOptions,
  type Failure,
} from './bearer.js';
import {
  parseBox,
  parseJson,
  parseMessage,
  parseMessageList,
  parseMovementList,
  parseSubmission,
  type CtcBox,
  type CtcMessage,
  type GuaranteeBalance,
  type MessageList,
  type MovementList,
  type SubmissionAccepted,
  type UploadRequest,
} from './ctc-responses.js';
import type { HmrcResult } from './errors.js';
import { checkGuaranteeBalance } from './guarantee-balance.js';
import { uploadLargeMessage, type UploadPolicy } from './large-message.js';
import {
  isMovementType,
  messagePath,
  movementMessagesPath,
  movementPath,
  movementsPath,
  v1BoxPath,
  v1IdPattern,
  type PathResult,
} from './paths.js';
import {
  acknowledgeNotifications,
  listBoxNotifications,
  type BoxNotifications,
  type BoxNotificationsQuery,
} from './ppns-pull.js';
import { QueryBuilder, type DateTimeInput, type QueryResult } from './query.js';
import { HmrcTransport, type TransportOptions, type TransportResponse } from './transport.js';

export type { CallOptions } from './bearer.js';

/**
 * HMRC's CTC Traders API (user-restricted), PPNS pull (application-restricted) and Guarantee
 * Balance. Every method takes the bearer token as an argument (the caller resolves it through
 * the TokenStore and handles `unauthorized` with forceRefresh) and returns a discriminated
 * result; nothing throws for HTTP or network failures.
 *
 * Fails closed: an unsafe path, a bad id or parameter is `refused` before any byte is sent.
 */

export type CtcApiVersion = '1.0' | '2.0' | '2.1' | '3.0';

export interface CtcClientOptions extends TransportOptions {
  /** CTC_API_VERSION: the media-type version, which must match the HMRC subscription. */
  apiVersion: CtcApiVersion;
  /** Cap for JSON responses (lists, single messages with inline bodies). */
  maxJsonBytes?: number;
  /**
   * Where the large-message upload URL may point (large-message.ts). The URL comes from HMRC's
   * own response, but it is still the one place we send data off HMRC's API host, so it is
   * pinned too. Default: the upload host of HMRC's environment in `baseUrl`, https only.
   */
  upload?: Partial<UploadPolicy>;
}

export interface FetchMessageBodyRequest extends CallOptions {
  messageUri: string;
  token: string;
  maxBytes: number;
}

export interface SubmitMessageRequest extends CallOptions {
  type: MovementType;
  /** Absent: a new movement (IE015 / IE007). Present: a follow-up (IE013, IE014, IE170, IE044). */
  movementId?: string;
  xml: string | Buffer;
  token: string;
  /**
   * The API version to ask for (Accept), when the message was written for another version than
   * the client's: 2.x and 3.0 share paths and differ only in Accept and schemas. Ignored on a
   * 1.0 client (other paths) and refused as 1.0 on a 2.x/3.0 client.
   */
  apiVersion?: CtcApiVersion;
}

export interface InitiateLargeMessageRequest extends CallOptions {
  type: MovementType;
  movementId?: string;
  token: string;
  /** As SubmitMessageRequest.apiVersion. */
  apiVersion?: CtcApiVersion;
}

export interface ListMovementsRequest extends CallOptions {
  type: MovementType;
  token: string;
  updatedSince?: DateTimeInput;
  receivedUntil?: DateTimeInput;
  localReferenceNumber?: string;
  movementEORI?: string;
  movementReferenceNumber?: string;
  page?: number;
  /** HMRC clamps at 500; we refuse more so paging arithmetic cannot silently go wrong. */
  count?: number;
}

export interface ListMessagesQuery {
  receivedSince?: DateTimeInput;
  receivedUntil?: DateTimeInput;
  page?: number;
  count?: number;
}

export interface GetMessageRequest extends CallOptions {
  messageUri: string;
  token: string;
  /** `json-xml` (default): body is the XML text. `json`: body converted by HMRC (≤ 5 MB only). */
  format?: 'json-xml' | 'json';
}

export interface ResubmitArrivalRequest extends CallOptions {
  /** The v1 arrivalId (an integer as a string) the first CC007A got. */
  arrivalId: string;
  /** The corrected CC007A. */
  xml: string | Buffer;
  token: string;
}

/** HMRC's small-message route limit: larger bodies must take the large-message route. */
export const smallMessageMaxBytes = 5_000_000;
/** CTC API 1.0's limit ("max 4.9 MB", reference §3.8, read as bytes); v1 had no large route. */
export const v1MessageMaxBytes = 4_900_000;
const v1Accept = 'application/vnd.hmrc.1.0+json';
/** What an early v1 202 without a body still said, in its Location header. */
const v1LocationPattern =
  /^\/customs\/transits\/movements\/(departures|arrivals)\/([0-9]{1,9})(?:\/messages\/([0-9]{1,9}))?$/;
const defaultMaxJsonBytes = 32 * 1024 * 1024;
const eoriPattern = /^[A-Z]{2}[0-9A-Z]{1,15}$/;

const collectionName = (type: MovementType) => (type === 'departure' ? 'departures' : 'arrivals');

export class CtcClient {
  readonly apiVersion: CtcApiVersion;
  private readonly transport: HmrcTransport;
  private readonly maxJsonBytes: number;
  private readonly uploadPolicy: UploadPolicy;

  constructor(options: CtcClientOptions) {
    this.apiVersion = options.apiVersion;
    this.transport = new HmrcTransport(options);
    this.maxJsonBytes = options.maxJsonBytes ?? defaultMaxJsonBytes;
    const hosts = options.upload?.hosts ?? [];
    this.uploadPolicy = {
      hosts: hosts.length > 0 ? hosts : (hmrcEnvironmentOf(options.baseUrl)?.uploadHosts ?? []),
      allowHttp: options.upload?.allowHttp ?? false,
    };
  }

  private get jsonAccept(): string {
    return `application/vnd.hmrc.${this.apiVersion}+json`;
  }

  /** Accept for a submission written for `requested` (SubmitMessageRequest.apiVersion). */
  private submissionAccept(requested: CtcApiVersion | undefined): string | Failure {
    if (requested === undefined || requested === this.apiVersion || this.apiVersion === '1.0')
      return this.jsonAccept;
    if (requested === '1.0') return refused('a CTC API 1.0 message needs a 1.0 client');
    return `application/vnd.hmrc.${requested}+json`;
  }

  /**
   * The raw body of a message, streamed with a hard cap of `maxBytes`.
   * v2.x/3.0: GET `{messageUri}/body` with `Accept: …+xml`: the XML exactly as HMRC holds it.
   * v1.0 has no /body endpoint: we GET the message as `…1.0+json` and take its `body` field (the
   * XML as a JSON string). The cap then applies to the JSON document, which is slightly larger
   * than the XML (escaping), so a body just under the cap can be refused; acceptable for a
   * retired API whose messages stayed under 4.9 MB.
   */
  async fetchMessageBody(request: FetchMessageBodyRequest): Promise<HmrcResult<{ body: Buffer }>> {
    const path = messagePath(request.messageUri);
    if (!path.ok) return path;
    const endpointBase = `/customs/transits/movements/${collectionName(path.movementType)}/{movementId}/messages/{messageId}`;
    if (this.apiVersion === '1.0') {
      const result = await sendWithToken(this.transport, request.token, {
        endpoint: `GET ${endpointBase}`,
        method: 'GET',
        path: path.path,
        headers: { accept: this.jsonAccept },
        maxBytes: request.maxBytes,
        signal: request.signal,
      });
      if (!result.ok) return result;
      const message = parseJsonWith(result.response, parseMessage);
      if (!message.ok) return message;
      if (typeof message.value.body !== 'string') {
        return invalid(result.response.status, 'v1 message has no body field');
      }
      return { ok: true, body: Buffer.from(message.value.body, 'utf8') };
    }
    const result = await sendWithToken(this.transport, request.token, {
      endpoint: `GET ${endpointBase}/body`,
      method: 'GET',
      path: `${path.path}/body`,
      headers: { accept: `application/vnd.hmrc.${this.apiVersion}+xml` },
      maxBytes: request.maxBytes,
      signal: request.signal,
    });
    return result.ok ? { ok: true, body: result.response.body } : result;
  }

  /** A message with its metadata (`GET {messageUri}`). */
  async getMessage(request: GetMessageRequest): Promise<HmrcResult<{ message: CtcMessage }>> {
    const path = messagePath(request.messageUri);
    if (!path.ok) return path;
    const accept =
      this.apiVersion === '1.0' || request.format === 'json'
        ? this.jsonAccept
        : `application/vnd.hmrc.${this.apiVersion}+json-xml`;
    const result = await sendWithToken(this.transport, request.token, {
      endpoint: `GET /customs/transits/movements/${collectionName(path.movementType)}/{movementId}/messages/{messageId}`,
      method: 'GET',
      path: path.path,
      headers: { accept },
      maxBytes: this.maxJsonBytes,
      signal: request.signal,
    });
    if (!result.ok) return result;
    const message = parseJsonWith(result.response, parseMessage);
    return message.ok ? { ok: true, message: message.value } : message;
  }

  async getMovement(
    type: MovementType,
    movementId: string,
    token: string,
    options: CallOptions = {},
  ): Promise<HmrcResult<{ movement: Record<string, unknown> }>> {
    const path = movementPath(type, movementId);
    if (!path.ok) return path;
    const result = await this.getJson(
      token,
      path,
      `GET /customs/transits/movements/${collectionName(type)}/{movementId}`,
      [],
      options,
    );
    if (!result.ok) return result;
    const value = result.value;
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      return invalid(200, 'movement response is not a JSON object');
    }
    return { ok: true, movement: value as Record<string, unknown> };
  }

  /**
   * Movements updated since a time (reconciliation sweeps), filtered and paged.
   * v1.0: one filter, `updatedSince`, and no paging (one answer holds every movement of the last
   * 31 days; `totalCount` is HMRC's totalDepartures/totalArrivals). Other filters, `count` or a
   * page past 1 are refused rather than silently ignored.
   */
  async listMovements(request: ListMovementsRequest): Promise<HmrcResult<{ list: MovementList }>> {
    const path = movementsPath(request.type);
    if (!path.ok) return path;
    if (this.apiVersion === '1.0') {
      const unsupported = v1Unsupported(
        {
          receivedUntil: request.receivedUntil,
          localReferenceNumber: request.localReferenceNumber,
          movementEORI: request.movementEORI,
          movementReferenceNumber: request.movementReferenceNumber,
          count: request.count,
        },
        request.page,
      );
      if (unsupported !== undefined) return unsupported;
    }
    const query = new QueryBuilder()
      .dateTime('updatedSince', request.updatedSince)
      .text(
        'movementEORI',
        request.movementEORI,
        eoriPattern,
        'must be an EORI such as GB123456789000',
      )
      .text(
        'movementReferenceNumber',
        request.movementReferenceNumber,
        /^[A-Za-z0-9]{1,35}$/,
        'must be 1-35 letters or digits',
      )
      .text(
        'localReferenceNumber',
        request.localReferenceNumber,
        /^[\x20-\x7e]{1,35}$/,
        'must be 1-35 printable characters',
      )
      // v1 had no paging: page 1 (all it allows) is not sent.
      .positiveInt('page', this.apiVersion === '1.0' ? undefined : request.page)
      .positiveInt('count', request.count, 500)
      .dateTime('receivedUntil', request.receivedUntil)
      .build();
    const result = await this.getJson(
      request.token,
      path,
      `GET /customs/transits/movements/${collectionName(request.type)}`,
      query,
      request,
    );
    if (!result.ok) return result;
    const list = parseMovementList(result.value, request.type);
    return list.ok ? { ok: true, list: list.value } : invalid(200, list.message);
  }

  /**
   * Messages of a movement, newest first (HMRC's order). v1.0: oldest first, only
   * `receivedSince`, no paging (other parameters are refused); ids are integers.
   */
  async listMessages(
    type: MovementType,
    movementId: string,
    query: ListMessagesQuery,
    token: string,
    options: CallOptions = {},
  ): Promise<HmrcResult<{ list: MessageList }>> {
    const path = movementMessagesPath(type, movementId);
    if (!path.ok) return path;
    if (this.apiVersion === '1.0') {
      const unsupported = v1Unsupported(
        { receivedUntil: query.receivedUntil, count: query.count },
        query.page,
      );
      if (unsupported !== undefined) return unsupported;
    }
    const built = new QueryBuilder()
      .dateTime('receivedSince', query.receivedSince)
      .positiveInt('page', this.apiVersion === '1.0' ? undefined : query.page)
      .positiveInt('count', query.count, 500)
      .dateTime('receivedUntil', query.receivedUntil)
      .build();
    const result = await this.getJson(
      token,
      path,
      `GET /customs/transits/movements/${collectionName(type)}/{movementId}/messages`,
      built,
      options,
    );
    if (!result.ok) return result;
    const list = parseMessageList(result.value);
    return list.ok ? { ok: true, list: list.value } : invalid(200, list.message);
  }

  /**
   * Declarations and follow-up messages on the small-message route: `Content-Type:
   * application/xml` exactly (anything else, even with `; charset=utf-8` on JSON, is a 415 at
   * HMRC). Bodies over 5 MB are refused here, unsent: use initiateLargeMessage.
   * A failure's `submissionOutcome()` tells whether HMRC may have accepted it anyway.
   *
   * v1.0 (phase 4: CC015B, CC014A, CC007A, CC044A): the limit is 4.9 MB, and the 202 carries
   * `_embedded.notifications` (requestId, boxId, boxName: see SubmissionAccepted), the link
   * between the movement and its PPNS pushes. Integer ids.
   */
  async submitMessage(
    request: SubmitMessageRequest,
  ): Promise<HmrcResult<{ accepted: SubmissionAccepted }>> {
    const path = this.submissionPath(request.type, request.movementId);
    if (!path.ok) return path;
    const body = this.submissionBody(request.xml);
    if (!body.ok) return body;
    const accept = this.submissionAccept(request.apiVersion);
    if (typeof accept !== 'string') return accept;
    const result = await sendWithToken(this.transport, request.token, {
      endpoint: `POST ${this.submissionEndpoint(request.type, request.movementId)}`,
      method: 'POST',
      path: path.path,
      headers: { accept, 'content-type': 'application/xml' },
      body: body.body,
      maxBytes: this.maxJsonBytes,
      signal: request.signal,
      onReply: request.onReply,
    });
    if (!result.ok) return result;
    const accepted = this.readAccepted(result.response, request.type);
    return accepted.ok ? { ok: true, accepted: accepted.value } : accepted;
  }

  /**
   * v1.0 only: `PUT /movements/arrivals/{arrivalId}` sends a corrected CC007A for an existing
   * arrival, e.g. after NCTS rejected the first one with CC008A. The 202 is shaped like the
   * first submission's (arrivalId, `_embedded.notifications`); NCTS's answers come on the same
   * movement and box. Refused unsent on other API versions, which have no such endpoint.
   */
  async resubmitArrival(
    request: ResubmitArrivalRequest,
  ): Promise<HmrcResult<{ accepted: SubmissionAccepted }>> {
    if (this.apiVersion !== '1.0') {
      return refused('resubmitArrival (PUT /arrivals/{arrivalId}) exists only in CTC API 1.0');
    }
    if (typeof request.arrivalId !== 'string' || !v1IdPattern.test(request.arrivalId))
      return refused('arrivalId must be a v1 integer id');
    const path = movementPath('arrival', request.arrivalId);
    if (!path.ok) return path;
    const body = this.submissionBody(request.xml);
    if (!body.ok) return body;
    const result = await sendWithToken(this.transport, request.token, {
      endpoint: 'PUT /customs/transits/movements/arrivals/{arrivalId}',
      method: 'PUT',
      path: path.path,
      headers: { accept: this.jsonAccept, 'content-type': 'application/xml' },
      body: body.body,
      maxBytes: this.maxJsonBytes,
      signal: request.signal,
      onReply: request.onReply,
    });
    if (!result.ok) return result;
    const accepted = this.readAccepted(result.response, 'arrival');
    return accepted.ok ? { ok: true, accepted: accepted.value } : accepted;
  }

  /**
   * v1.0 only: the application's PPNS box (`GET /customs/transits/movements/push-pull-notifications/box`,
   * application token with scope common-transit-convention-traders). Always sent with Accept
   * 1.0+json: the endpoint never existed in v2.x. 404 = no box for the client id.
   */
  async getBox(appToken: string, options: CallOptions = {}): Promise<HmrcResult<{ box: CtcBox }>> {
    const result = await sendWithToken(this.transport, appToken, {
      endpoint: `GET ${v1BoxPath}`,
      method: 'GET',
      path: v1BoxPath,
      headers: { accept: v1Accept },
      maxBytes: 64 * 1024,
      signal: options.signal,
    });
    if (!result.ok) return result;
    const box = parseJsonWith(result.response, parseBox);
    return box.ok ? { ok: true, box: box.value } : box;
  }

  /** The body of a small-route submission, or why it cannot be sent (nothing leaves then). */
  private submissionBody(xml: string | Buffer): { ok: true; body: Buffer } | Failure {
    const body = typeof xml === 'string' ? Buffer.from(xml, 'utf8') : xml;
    if (body.length === 0) {
      return refused(
        this.apiVersion === '1.0'
          ? 'an empty body cannot be submitted'
          : 'an empty body would take the large-message route; use initiateLargeMessage',
      );
    }
    const limit = this.apiVersion === '1.0' ? v1MessageMaxBytes : smallMessageMaxBytes;
    if (body.length > limit) {
      return {
        ok: false,
        error: {
          kind: 'too-large',
          limit,
          received: body.length,
          sent: false,
          message:
            this.apiVersion === '1.0'
              ? `message is over CTC API 1.0's ${limit}-byte limit (v1 has no large-message route)`
              : `message is over HMRC's ${limit}-byte small-message limit; use the large-message route`,
        },
      };
    }
    return { ok: true, body };
  }

  /** A 202's body; early v1 answered with only a Location header, which still names the ids. */
  private readAccepted(
    response: TransportResponse,
    type: MovementType,
  ): { ok: true; value: SubmissionAccepted } | Failure {
    if (this.apiVersion === '1.0' && response.body.length === 0) {
      const location = response.headers.location;
      const match = typeof location === 'string' ? v1LocationPattern.exec(location) : null;
      if (match === null || match[1] !== collectionName(type)) {
        return invalid(response.status, 'v1 202 has neither a body nor a usable Location header');
      }
      return {
        ok: true,
        value: {
          movementType: type,
          movementId: match[2]!,
          ...(match[3] === undefined ? {} : { messageId: match[3] }),
        },
      };
    }
    return parseJsonWith(response, (value) => parseSubmission(value, type));
  }

  /**
   * Step 1 of the large-message route: POST with no body and no Content-Type; HMRC answers with
   * the movement/message ids and an `uploadRequest` (reference §3.4).
   */
  async initiateLargeMessage(
    request: InitiateLargeMessageRequest,
  ): Promise<HmrcResult<{ accepted: SubmissionAccepted & { uploadRequest: UploadRequest } }>> {
    if (this.apiVersion === '1.0') return refused('CTC API 1.0 has no large-message route');
    const path = this.submissionPath(request.type, request.movementId);
    if (!path.ok) return path;
    const accept = this.submissionAccept(request.apiVersion);
    if (typeof accept !== 'string') return accept;
    const result = await sendWithToken(this.transport, request.token, {
      endpoint: `POST ${this.submissionEndpoint(request.type, request.movementId)} (large)`,
      method: 'POST',
      path: path.path,
      headers: { accept },
      maxBytes: this.maxJsonBytes,
      signal: request.signal,
      onReply: request.onReply,
    });
    if (!result.ok) return result;
    const accepted = parseJsonWith(result.response, (value) =>
      parseSubmission(value, request.type),
    );
    if (!accepted.ok) return accepted;
    const { uploadRequest } = accepted.value;
    if (uploadRequest === undefined)
      return invalid(result.response.status, 'large-message response has no uploadRequest');
    return { ok: true, accepted: { ...accepted.value, uploadRequest } };
  }

  /**
   * Step 2: the file to `uploadRequest.href` (see large-message.ts for how that URL is pinned).
   * Any 2xx means uploaded; HMRC then reports the outcome as a SUBMISSION_NOTIFICATION.
   */
  uploadLargeMessage(
    uploadRequest: UploadRequest,
    xml: string | Buffer,
    options: CallOptions = {},
  ): Promise<HmrcResult<{ status: number }>> {
    return uploadLargeMessage(this.transport, this.uploadPolicy, uploadRequest, xml, options);
  }

  /** PPNS pull of a box (application token, scope read:pull-notifications). */
  listBoxNotifications(
    boxId: string,
    query: BoxNotificationsQuery,
    appToken: string,
    options: CallOptions = {},
  ): Promise<HmrcResult<BoxNotifications>> {
    return listBoxNotifications(this.transport, this.maxJsonBytes, boxId, query, appToken, options);
  }

  /** PPNS acknowledgement of ≤ 100 notifications (application token, scope write:notifications). */
  acknowledgeNotifications(
    boxId: string,
    notificationIds: readonly string[],
    appToken: string,
    options: CallOptions = {},
  ): Promise<HmrcResult<{ acknowledged: number }>> {
    return acknowledgeNotifications(this.transport, boxId, notificationIds, appToken, options);
  }

  /** Guarantee Balance (user token with the guarantee-balance scope); 1 request/min per GRN. */
  checkGuaranteeBalance(
    grn: string,
    accessCode: string,
    token: string,
    options: CallOptions = {},
  ): Promise<HmrcResult<{ balance: GuaranteeBalance }>> {
    return checkGuaranteeBalance(this.transport, grn, accessCode, token, options);
  }

  private submissionPath(type: MovementType, movementId: string | undefined): PathResult {
    if (!isMovementType(type)) return refused('movement type must be departure or arrival');
    return movementId === undefined ? movementsPath(type) : movementMessagesPath(type, movementId);
  }

  private submissionEndpoint(type: MovementType, movementId: string | undefined): string {
    const collection = `/customs/transits/movements/${collectionName(type)}`;
    return movementId === undefined ? collection : `${collection}/{movementId}/messages`;
  }

  private async getJson(
    token: string,
    path: { path: string },
    endpoint: string,
    query: QueryResult | [string, string][],
    options: CallOptions,
  ): Promise<HmrcResult<{ value: unknown }>> {
    const built = Array.isArray(query) ? { ok: true as const, query } : query;
    if (!built.ok) return refused(built.message);
    const result = await sendWithToken(this.transport, token, {
      endpoint,
      method: 'GET',
      path: path.path,
      query: built.query,
      headers: { accept: this.jsonAccept },
      maxBytes: this.maxJsonBytes,
      signal: options.signal,
    });
    if (!result.ok) return result;
    const parsed = parseJson(result.response.body);
    return parsed.ok
      ? { ok: true, value: parsed.value }
      : invalid(result.response.status, parsed.message);
  }
}

/** v1 list endpoints took one date filter and no paging: anything else is refused, unsent. */
function v1Unsupported(
  parameters: Record<string, unknown>,
  page: number | undefined,
): Failure | undefined {
  const given = Object.keys(parameters).filter((name) => parameters[name] !== undefined);
  if (page !== undefined && page !== 1) given.push('page');
  return given.length === 0
    ? undefined
    : refused(`CTC API 1.0 list endpoints do not support ${given.join(', ')}`);
}
