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
  | { kind: 'webhook'; url: string; cursor: string }
  /** One notification a PPNS relay consumer did not take within the retry window. */
  | { kind: 'relay'; consumerId: string; notificationId: string };

export type DeadLetterKind = DeadLetterSubject['kind'];

/**
 * Every kind, for those who filter by it: the api refuses any other kind in a filter rather than
 * match nothing. `satisfies` and the check below keep it equal to DeadLetterSubject's kinds.
 */
export const deadLetterKinds = [
  'notification',
  'fetch-message',
  'submit',
  'message',
  'webhook',
  'relay',
] as const satisfies readonly DeadLetterKind[];
type MissingKind = Exclude<DeadLetterKind, (typeof deadLetterKinds)[number]>;
const everyKindListed: MissingKind extends never ? true : false = true;
void everyKindListed;

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
    case 'relay':
      return `relay:${subject.consumerId}:${subject.notificationId}`;
  }
}
