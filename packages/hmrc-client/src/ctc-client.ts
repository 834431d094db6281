import type { MovementType } from '@ctc-hub/ppns';
import { invalid, parseJsonWith, refused, sendWithToken, type CallOptions } from './bearer.js';
import {
  parseJson,
  parseMessage,
  parseMessageList,
  parseMovementList,
  parseSubmission,
  type CtcMessage,
  type GuaranteeBalance,
  type MessageList,
  type MovementList,
  type SubmissionAccepted,
  type UploadRequest,
} from './ctc-responses.js';
import type { HmrcResult } from './errors.js';
import { checkGuaranteeBalance } from './guarantee-balance.js';
import { uploadLargeMessage } from './large-message.js';
import {
  isMovementType,
  messagePath,
  movementMessagesPath,
  movementPath,
  movementsPath,
  type PathResult,
} from './paths.js';
import {
  acknowledgeNotifications,
  listBoxNotifications,
  type BoxNotifications,
  type BoxNotificationsQuery,
} from './ppns-pull.js';
import { QueryBuilder, type DateTimeInput, type QueryResult } from './query.js';
import { HmrcTransport, type TransportOptions } from './transport.js';

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
   * Hosts the large-message upload URL may point at, as suffixes (`.amazonaws.com`) or exact
   * names. The URL comes from HMRC's own response, but it is still the one place we send data
   * off HMRC's API host, so it is pinned too. The API base URL's origin is always allowed.
   */
  uploadHostSuffixes?: readonly string[];
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
}

export interface InitiateLargeMessageRequest extends CallOptions {
  type: MovementType;
  movementId?: string;
  token: string;
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

/** HMRC's small-message route limit: larger bodies must take the large-message route. */
export const smallMessageMaxBytes = 5_000_000;
const defaultMaxJsonBytes = 32 * 1024 * 1024;
const eoriPattern = /^[A-Z]{2}[0-9A-Z]{1,15}$/;

const collectionName = (type: MovementType) => (type === 'departure' ? 'departures' : 'arrivals');

export class CtcClient {
  readonly apiVersion: CtcApiVersion;
  private readonly transport: HmrcTransport;
  private readonly maxJsonBytes: number;
  private readonly uploadHostSuffixes: readonly string[];

  constructor(options: CtcClientOptions) {
    this.apiVersion = options.apiVersion;
    this.transport = new HmrcTransport(options);
    this.maxJsonBytes = options.maxJsonBytes ?? defaultMaxJsonBytes;
    this.uploadHostSuffixes = options.uploadHostSuffixes ?? ['.amazonaws.com'];
  }

  private get jsonAccept(): string {
    return `application/vnd.hmrc.${this.apiVersion}+json`;
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

  /** Movements updated since a time (reconciliation sweeps), filtered and paged. */
  async listMovements(request: ListMovementsRequest): Promise<HmrcResult<{ list: MovementList }>> {
    const path = movementsPath(request.type);
    if (!path.ok) return path;
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
      .positiveInt('page', request.page)
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

  /** Messages of a movement, newest first (HMRC's order). */
  async listMessages(
    type: MovementType,
    movementId: string,
    query: ListMessagesQuery,
    token: string,
    options: CallOptions = {},
  ): Promise<HmrcResult<{ list: MessageList }>> {
    const path = movementMessagesPath(type, movementId);
    if (!path.ok) return path;
    const built = new QueryBuilder()
      .dateTime('receivedSince', query.receivedSince)
      .positiveInt('page', query.page)
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
   */
  async submitMessage(
    request: SubmitMessageRequest,
  ): Promise<HmrcResult<{ accepted: SubmissionAccepted }>> {
    const path = this.submissionPath(request.type, request.movementId);
    if (!path.ok) return path;
    const body = typeof request.xml === 'string' ? Buffer.from(request.xml, 'utf8') : request.xml;
    if (body.length === 0)
      return refused('an empty body would take the large-message route; use initiateLargeMessage');
    if (body.length > smallMessageMaxBytes) {
      return {
        ok: false,
        error: {
          kind: 'too-large',
          limit: smallMessageMaxBytes,
          received: body.length,
          sent: false,
          message: `message is over HMRC's ${smallMessageMaxBytes}-byte small-message limit; use the large-message route`,
        },
      };
    }
    const result = await sendWithToken(this.transport, request.token, {
      endpoint: `POST ${this.submissionEndpoint(request.type, request.movementId)}`,
      method: 'POST',
      path: path.path,
      headers: { accept: this.jsonAccept, 'content-type': 'application/xml' },
      body,
      maxBytes: this.maxJsonBytes,
      signal: request.signal,
    });
    if (!result.ok) return result;
    const accepted = parseJsonWith(result.response, (value) =>
      parseSubmission(value, request.type),
    );
    return accepted.ok ? { ok: true, accepted: accepted.value } : accepted;
  }

  /**
   * Step 1 of the large-message route: POST with no body and no Content-Type; HMRC answers with
   * the movement/message ids and an `uploadRequest` (reference §3.4).
   */
  async initiateLargeMessage(
    request: InitiateLargeMessageRequest,
  ): Promise<HmrcResult<{ accepted: SubmissionAccepted & { uploadRequest: UploadRequest } }>> {
    const path = this.submissionPath(request.type, request.movementId);
    if (!path.ok) return path;
    const result = await sendWithToken(this.transport, request.token, {
      endpoint: `POST ${this.submissionEndpoint(request.type, request.movementId)} (large)`,
      method: 'POST',
      path: path.path,
      headers: { accept: this.jsonAccept },
      maxBytes: this.maxJsonBytes,
      signal: request.signal,
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
    return uploadLargeMessage(this.transport, this.uploadHostSuffixes, uploadRequest, xml, options);
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
