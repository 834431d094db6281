import type { ColumnType, Generated, Insertable, Selectable } from 'kysely';

export type SubmissionStatus = 'queued' | 'sending' | 'accepted' | 'rejected' | 'failed';

/** The large route's steps at HMRC: initiated (HMRC gave an upload form), then uploaded. */
export type SubmissionUploadState = 'initiated' | 'uploaded';

/** HMRC's upload form for a large declaration (the `uploadRequest` of its 202). */
export interface SubmissionUploadRequest {
  href: string;
  fields: Record<string, string>;
}

/** One try at sending a submission, as kept in `submissions.attempts`. */
export interface SubmissionAttempt {
  attempt: number;
  at: string;
  durationMs: number;
  /** HTTP status HMRC answered, when it answered. */
  httpStatus: number | null;
  /** accepted | rejected | retry | unknown | rate-limited | found-at-hmrc | not-at-hmrc | uploaded */
  outcome: string;
  error: string | null;
}

/** HMRC's answer to a submission, as HMRC sent it. */
export interface HmrcReply {
  status: number;
  /** Lower-case names; only those that describe the body (content-type) or point at a resource. */
  headers: Record<string, string>;
  /** The body as UTF-8 text (HMRC answers JSON). */
  body: string;
}

export interface SubmissionsTable {
  id: Generated<string>;
  eori: string;
  /** Which API key submitted it (first 8 hex of its SHA-256). */
  api_key_id: string;
  idempotency_key: string | null;
  body_sha256: Buffer;
  movement_type: 'departure' | 'arrival';
  /** IE015, IE013, IE014, IE170, IE007, IE044. */
  message_type: string;
  movement_id: string | null;
  lrn: string | null;
  mrn: string | null;
  message_identification: string | null;
  api_version: string;
  route: 'small' | 'large';
  size_bytes: number;
  body: Buffer;
  status: Generated<SubmissionStatus>;
  outcome_unknown: Generated<boolean>;
  attempts: ColumnType<SubmissionAttempt[], string | undefined, string>;
  attempt_count: Generated<number>;
  /** HMRC's answer: the 202 body, or the error `{ code, message, validationErrors }`. */
  hmrc_response: ColumnType<Record<string, unknown> | null, string | null, string | null>;
  /** HMRC's answer as sent (status, body-describing headers, body): the HMRC-compatible routes pass it on. */
  hmrc_reply: ColumnType<HmrcReply | null, string | null | undefined, string | null>;
  hmrc_message_id: string | null;
  /** Large route only: NULL until HMRC initiated the movement. */
  upload_state: ColumnType<SubmissionUploadState | null, never, SubmissionUploadState>;
  upload_request: ColumnType<SubmissionUploadRequest | null, never, string>;
  box_id: string | null;
  request_id: string | null;
  created_at: Generated<Date>;
  updated_at: Generated<Date>;
  completed_at: Date | null;
}

export type Submission = Selectable<SubmissionsTable>;
export type NewSubmission = Insertable<SubmissionsTable>;
