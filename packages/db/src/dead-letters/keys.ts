import { createHash } from 'node:crypto';

/**
 * What failed, for each kind of dead letter. The kind and the dedupe key of a letter are both
 * derived from it here and nowhere else, so a writer that records a failure and the code that
 * later settles it (a stored message, an accepted submission) can never disagree on the key.
 */
export type DeadLetterSubject =
  /** A PPNS notification we could not use (or whose processing gave up). */
  | { kind: 'notification'; notificationId: string }
  /** The body fetch of one message, given up. */
  | { kind: 'fetch-message'; movementType: string; movementId: string; messageId: string }
  /** A message the database refused, with no notification to keep it under. */
  | { kind: 'message'; movementType: string; movementId: string; messageId: string }
  /** A submission that failed for good. */
  | { kind: 'submit'; submissionId: string }
  /** One feed event one webhook URL did not take. */
  | { kind: 'webhook'; url: string; cursor: string };

export type DeadLetterKind = DeadLetterSubject['kind'];

/** The one builder of dead-letter keys: stable per failing thing, so repeats update one row. */
export function deadLetterKey(subject: DeadLetterSubject): string {
  switch (subject.kind) {
    case 'notification':
      return `notification:${subject.notificationId}`;
    case 'fetch-message':
    case 'message':
      return `${subject.kind}:${subject.movementType}/${subject.movementId}/${subject.messageId}`;
    case 'submit':
      return `submit:${subject.submissionId}`;
    case 'webhook':
      // The URL is hashed: it may carry a token, and keys are shown to operators.
      return `webhook:${createHash('sha256').update(subject.url).digest('hex').slice(0, 16)}:${subject.cursor}`;
  }
}
