/**
 * Public types of @ctc-hub/ncts. The summary is what we extract from every NCTS message and
 * store as `messages.summary` (jsonb); keep it small (no goods items) and stable, since API
 * clients read it.
 */

export type MovementType = 'departure' | 'arrival';

/** inbound = NCTS → trader; outbound = trader → NCTS. */
export type Direction = 'inbound' | 'outbound';

export interface CatalogueEntry {
  /** IE code, e.g. IE028. */
  code: string;
  /** Phase 5/6 root element, e.g. CC028C; null for phase-4-only codes (IE016, IE008, IE058). */
  root: string | null;
  /** Phase 4 root elements (e.g. CC028A), where one exists. */
  phase4Roots: readonly string[];
  /** TIS short name, e.g. E_MRN_ALL (null where the TIS has none). */
  shortName: string | null;
  name: string;
  direction: Direction;
  movementType: MovementType | 'both';
  /** True when a trader may submit it through the CTC API (IE015, IE013, IE014, IE170, IE007, IE044). */
  submittable: boolean;
}

export interface MessageHeader {
  messageSender: string | null;
  messageRecipient: string | null;
  /** As written (no zone), e.g. 2024-05-14T15:26:40. */
  preparationDateAndTime: string | null;
  messageIdentification: string | null;
  /** The messageType *element*, e.g. CC028C (phase 4: the MesTypMES20 value). */
  messageType: string | null;
  correlationIdentifier: string | null;
}

export interface FunctionalError {
  errorPointer: string | null;
  errorCode: string | null;
  errorReason: string | null;
  originalAttributeValue: string | null;
}

export interface Rejection {
  /** IE056/IE057: which message was rejected, e.g. '015', '013', '014', '170', '007', '044'. */
  businessRejectionType: string | null;
  rejectionCode: string | null;
  rejectionReason: string | null;
  rejectionDateAndTime: string | null;
  functionalErrors: FunctionalError[];
}

export interface MessageSummary {
  rootElement: string;
  /** IE code from the catalogue; null when the root element is unknown. */
  messageType: string | null;
  knownType: boolean;
  /** PhaseID attribute (NCTS5.0, NCTS5.1, NCTS6), or 'NCTS4' for phase 4 messages. */
  phase: string | null;
  namespace: string | null;
  header: MessageHeader;
  mrn: string | null;
  lrn: string | null;
  officeOfDeparture: string | null;
  /** Actual office of destination (IE007/IE043/IE044…), else the declared one. */
  officeOfDestination: string | null;
  holderEori: string | null;
  traderAtDestinationEori: string | null;
  declarationAcceptanceDate: string | null;
  /** IE029 releaseDate. */
  releaseDate: string | null;
  /** IE009: true = invalidation accepted, false = refused. */
  invalidationDecision: boolean | null;
  /** IE056, IE057, IE906, IE917 (and phase-4 equivalents). */
  rejection: Rejection | null;
  /** Number of goods items, when the message declares them (IE015, IE029…). */
  goodsItemCount: number | null;
  /** Oddities that do not stop storage, e.g. messageType element not matching the root. */
  warnings: string[];
}

export type ParseErrorCode =
  'EMPTY' | 'TOO_LARGE' | 'DOCTYPE_FORBIDDEN' | 'TOO_DEEP' | 'NOT_WELL_FORMED' | 'NOT_NCTS';

export interface ParseError {
  code: ParseErrorCode;
  message: string;
}

export type ParseResult = { ok: true; summary: MessageSummary } | { ok: false; error: ParseError };

export interface ParseOptions {
  /** Largest document accepted (bytes). Default 32 MiB. */
  maxBytes?: number;
  /** Deepest element nesting accepted. Default 64 (NCTS messages nest to about 8). */
  maxDepth?: number;
}

/** Derived movement status; see deriveMovementStatus. */
export type MovementStatus = string;

/** What status derivation needs to know about one message of a movement. */
export interface StatusFact {
  messageType: string | null;
  /** For IE056/IE057: the businessRejectionType ('015', '013', '007', …). */
  rejectedMessageType: string | null;
  /** For IE009. */
  invalidationDecision: boolean | null;
}

export interface ValidationIssue {
  lineNumber: number;
  columnNumber: number;
  message: string;
  /** Where the element is, e.g. /CC015C/TransitOperation/LRN (schema and business errors). */
  elementPath?: string;
}

export type ValidationResult = { ok: true } | { ok: false; errors: ValidationIssue[] };

export type SchemaPhase = 'phase5' | 'phase6';
