import {
  catalogueByRoot,
  elementByPath,
  parseNctsMessage,
  schemaPhaseForApiVersion,
  type MessageSummary,
  type MovementType,
  type ParseError,
  type ParseResult,
  type SchemaPhase,
  type XsdValidator,
} from '@ctc-hub/ncts';
import {
  businessRuleIssues,
  messageTypeMismatch,
  type BusinessRuleIssue,
} from './business-rules.js';
import { encodingIssue } from './encoding.js';

/**
 * Validation of a trader's NCTS submission before it spends any of HMRC's rate budget: the
 * checks HMRC's CTC Traders API and transit-movements-validator make, with HMRC's status codes,
 * error codes and texts (hmrc-ctc-reference §3.1, §3.5, §4.1, §4.3), so that whatever we reject
 * HMRC would have rejected the same way.
 *
 * Fails closed: every path that cannot show a message to be valid ends in an error result, and a
 * validator that cannot run (closed, worker thread died) rejects the promise, which the route
 * turns into a 500 rather than a pass.
 */

export type SubmissionEndpoint =
  | { kind: 'new-departure' } // POST /v1/departures → IE015 only
  | { kind: 'departure-message' } // POST /v1/departures/{id}/messages → IE013, IE014, IE170
  | { kind: 'new-arrival' } // POST /v1/arrivals → IE007 only
  | { kind: 'arrival-message' }; // POST /v1/arrivals/{id}/messages → IE044

export interface ValidSubmission {
  /** IE code, e.g. IE015. */
  messageType: string;
  /** Without prefix, e.g. CC015C (CC015B for API 1.0). */
  rootElement: string;
  movementType: MovementType;
  lrn: string | null;
  mrn: string | null;
  messageIdentification: string | null;
  /** messageSender when it has the shape of an EORI, else null (HMRC's examples send "token"). */
  senderEori: string | null;
  holderEori: string | null;
  traderAtDestinationEori: string | null;
  /** the EORI this message is sent for, from the message: holder (departures) / trader at destination (arrivals) / messageSender when it is an EORI */
  messageEori: string | null;
  /** The element messageEori was read from, to name it when it is not an EORI. */
  messageEoriElement: string | null;
}

/** A position in the submitted document; 0/0 when the problem is not tied to one place. */
export interface SubmissionIssue {
  lineNumber: number;
  columnNumber: number;
  message: string;
  /** The element it is about, e.g. /CC015C/TransitOperation/LRN, when it is about one. */
  elementPath?: string;
}

export interface SubmissionErrorBody {
  code: string;
  message: string;
  validationErrors?: SubmissionIssue[];
}

export type SubmissionValidation =
  | { ok: true; submission: ValidSubmission }
  | { ok: false; status: 400 | 415 | 413; body: SubmissionErrorBody };

/** What validateSubmission needs of a parser: NctsParser, or parseNctsMessage inline. */
export interface SubmissionParser {
  parse(xml: Buffer): Promise<ParseResult>;
}

export interface SubmissionInput {
  xml: Buffer;
  /** The request's Content-Type header as sent; undefined when absent. */
  contentType: string | undefined;
  endpoint: SubmissionEndpoint;
  /** CTC Traders API version of the request's Accept header: 1.0, 2.0, 2.1 or 3.0. */
  apiVersion: string;
  /** An XsdValidator; only validate() is used. */
  validator: Pick<XsdValidator, 'validate'>;
  /** Largest body accepted; HMRC's small-message route takes 5,000,000 bytes. */
  maxBytes: number;
  /**
   * Optional: an NctsParser, which parses documents of 1 MiB and more in a worker thread.
   * Without it the parse runs inline, which holds the event loop for about 50 ms per 2 MB
   * (bench/src/xsd-validation.ts measures it); give one to a server that takes large messages.
   */
  parser?: SubmissionParser;
}

const endpoints: Record<
  SubmissionEndpoint['kind'],
  { movementType: MovementType; messageTypes: readonly string[] }
> = {
  'new-departure': { movementType: 'departure', messageTypes: ['IE015'] },
  'departure-message': { movementType: 'departure', messageTypes: ['IE013', 'IE014', 'IE170'] },
  'new-arrival': { movementType: 'arrival', messageTypes: ['IE007'] },
  'arrival-message': { movementType: 'arrival', messageTypes: ['IE044'] },
};

/** The route of each endpoint, to tell a trader where a message goes. */
const endpointRoutes: Record<SubmissionEndpoint['kind'], string> = {
  'new-departure': 'POST /v1/departures',
  'departure-message': 'POST /v1/departures/{departureId}/messages',
  'new-arrival': 'POST /v1/arrivals',
  'arrival-message': 'POST /v1/arrivals/{arrivalId}/messages',
};

/** The route that takes a message type, when one does. */
function routeTaking(messageType: string): string | undefined {
  const kind = (Object.keys(endpoints) as SubmissionEndpoint['kind'][]).find((candidate) =>
    endpoints[candidate].messageTypes.includes(messageType),
  );
  return kind === undefined ? undefined : endpointRoutes[kind];
}

/** Which message types each endpoint accepts (reference §3.2, §4.1). */
export function acceptedMessageTypes(endpoint: SubmissionEndpoint): readonly string[] {
  return endpoints[endpoint.kind].messageTypes;
}

type SchemaSet = SchemaPhase | 'phase4';

/**
 * API version → schema set. A version we do not know is the caller's bug (the route checks
 * the Accept header first), so it throws instead of validating against the wrong schemas.
 */
export function schemaSetForApiVersion(apiVersion: string): SchemaSet {
  const major = /^([0-9]+)\.[0-9]+$/.exec(apiVersion)?.[1];
  if (major === '1') return 'phase4';
  if (major === '2' || major === '3') return schemaPhaseForApiVersion(apiVersion);
  throw new RangeError(`Unsupported CTC Traders API version ${apiVersion}`);
}

export async function validateSubmission(input: SubmissionInput): Promise<SubmissionValidation> {
  const schemaSet = schemaSetForApiVersion(input.apiVersion);
  const { movementType, messageTypes } = endpoints[input.endpoint.kind];

  // 1. Content-Type (reference §3.1, ContentTypeRouting.scala): the lower-cased header must be
  // exactly one of two strings; no parameter parsing, so "application/xml;charset=utf-8" and
  // "application/xml; charset=iso-8859-1" are refused like text/xml. HMRC routes
  // application/json and an absent header elsewhere (JSON, large-message upload); we take XML
  // only, so they are refused too, an absent header with HMRC's own text for that case.
  // After HMRC's text, ours says what to send instead when the header was meant to be XML.
  const contentType = input.contentType?.toLowerCase();
  if (contentType !== 'application/xml' && contentType !== 'application/xml; charset=utf-8') {
    const meantXml = /^\s*(application|text)\/xml\s*(;|$)/.test(contentType ?? '');
    return failure(415, {
      code: 'UNSUPPORTED_MEDIA_TYPE',
      message:
        input.contentType === undefined
          ? 'A content-type header is required!'
          : `Content-type header ${input.contentType} is not supported!` +
            (meantXml
              ? ' Send Content-Type: application/xml (or application/xml; charset=utf-8) with the declaration encoded in UTF-8.'
              : ''),
    });
  }

  // 2. Size.
  if (input.xml.byteLength === 0) return malformed([issue('The request body is empty')]);
  if (input.xml.byteLength > input.maxBytes) {
    return failure(413, { code: 'REQUEST_ENTITY_TOO_LARGE', message: 'Request Entity Too Large' });
  }

  // 3. UTF-8 (encoding.ts: what HMRC does with UTF-16 and ISO-8859-1, and why we refuse them),
  // then well-formed and safe. The parser tolerates bad UTF-8 (it must store whatever NCTS
  // sends us); a submission must be UTF-8.
  const encoding = encodingIssue(input.xml);
  if (encoding !== undefined) return malformed([encoding]);
  const parsed = input.parser
    ? await input.parser.parse(input.xml)
    : parseNctsMessage(input.xml, { maxBytes: input.maxBytes });
  if (!parsed.ok) return malformed([issueOfParseError(parsed.error)]);
  const summary = parsed.summary;

  // 4. The root element must be one this endpoint takes, in this API version's phase: a phase 4
  // root (CC015B) on API 2.1 is as wrong as an IE029 (reference §3.5 "IE0xx is not a valid
  // message type"). Known roots are named by IE code, anything else by the root as written.
  const entry = catalogueByRoot(summary.rootElement);
  const phase4 = schemaSet === 'phase4';
  const rootOfThisPhase =
    entry !== undefined &&
    (phase4 ? entry.phase4Roots.includes(summary.rootElement) : entry.root === summary.rootElement);
  if (!rootOfThisPhase || !messageTypes.includes(entry.code)) {
    const named = rootOfThisPhase ? entry.code : summary.rootElement;
    const where = rootOfThisPhase ? routeTaking(entry.code) : undefined;
    return failure(400, {
      code: 'BAD_REQUEST',
      // HMRC's text, then which of our routes takes it, if any: a trader who posted an IE007 to
      // the departures route learns where it goes.
      message:
        `${named} is not a valid message type` +
        (where === undefined
          ? rootOfThisPhase
            ? ` on ${endpointRoutes[input.endpoint.kind]}: no route takes it (it is a message NCTS sends to traders)`
            : ''
          : ` on ${endpointRoutes[input.endpoint.kind]}: send it to ${where}`),
    });
  }

  // 5. messageType element = root (HMRC trims the value). Phase 4 senders put their country
  // where the root has CC (GB015B for CC015B), as the ncts summary allows.
  const declaredType = summary.header.messageType?.trim() ?? null;
  const typeMatches = phase4
    ? declaredType !== null &&
      declaredType.length === summary.rootElement.length &&
      declaredType.slice(2) === summary.rootElement.slice(2)
    : declaredType === summary.rootElement;
  if (!typeMatches)
    return businessFailure(input.xml, [{ message: messageTypeMismatch, element: 'messageType' }]);

  // 6. XSD, in the validator's worker threads. API 1.0 is phase 4, whose schemas we do not ship
  // (and HMRC retired the version), so its messages get no schema check; the business rules
  // below then run on unvalidated structure, which is all they can do.
  if (!phase4) {
    const schema = await input.validator.validate(input.xml, schemaSet);
    if (!schema.ok) {
      return failure(400, {
        code: 'SCHEMA_VALIDATION',
        message: 'Request failed schema validation',
        validationErrors: schema.errors,
      });
    }
  }

  // 7. HMRC's business rules.
  const errors = businessRuleIssues(summary, { movementType, phase4 });
  if (errors.length > 0) return businessFailure(input.xml, errors);

  return { ok: true, submission: submissionOf(summary, entry.code, movementType, phase4) };
}

// An EORI: ISO country code and up to 15 letters or digits (GB/XI: 12 or 15 digits).
const eoriShape = /^[A-Z]{2}[0-9A-Z]{1,15}$/;

// Where the party's EORI sits (packages/ncts summary.ts), phase 5 and phase 4 (API 1.0).
const partyElements = {
  departure: ['HolderOfTheTransitProcedure/identificationNumber', 'TRAPRIPC1/TINPC159'],
  arrival: ['TraderAtDestination/identificationNumber', 'TRADESTRD/TINTRD59'],
} as const;

function submissionOf(
  summary: MessageSummary,
  messageType: string,
  movementType: MovementType,
  phase4: boolean,
): ValidSubmission {
  const sender = summary.header.messageSender;
  const senderEori = sender !== null && eoriShape.test(sender) ? sender : null;
  const partyEori =
    movementType === 'departure' ? summary.holderEori : summary.traderAtDestinationEori;
  const messageEoriElement =
    partyEori !== null
      ? partyElements[movementType][phase4 ? 1 : 0]
      : senderEori !== null
        ? 'messageSender'
        : null;
  return {
    messageType,
    rootElement: summary.rootElement,
    movementType,
    lrn: summary.lrn,
    mrn: summary.mrn,
    messageIdentification: summary.header.messageIdentification,
    senderEori,
    holderEori: summary.holderEori,
    traderAtDestinationEori: summary.traderAtDestinationEori,
    messageEori: partyEori ?? senderEori,
    messageEoriElement,
  };
}

const failure = (status: 400 | 413 | 415, body: SubmissionErrorBody): SubmissionValidation => ({
  ok: false,
  status,
  body,
});

const issue = (message: string, lineNumber = 0, columnNumber = 0): SubmissionIssue => ({
  lineNumber,
  columnNumber,
  message,
});

// HMRC's text for input it cannot read (ConvertError.scala MalformedInput); the details are ours.
const malformed = (validationErrors: SubmissionIssue[]) =>
  failure(400, { code: 'BAD_REQUEST', message: 'Input was malformed', validationErrors });

/**
 * HMRC's body carries its first business error as the message; validationErrors (our addition)
 * lists every one found, each at the element it is about (0/0 when the element is absent).
 */
function businessFailure(xml: Buffer, errors: BusinessRuleIssue[]): SubmissionValidation {
  const text = xml.toString('utf8');
  return failure(400, {
    code: 'BUSINESS_VALIDATION_ERROR',
    message: errors[0]?.message ?? messageTypeMismatch,
    validationErrors: errors.map(({ message, element }) => {
      const at = elementByPath(text, element);
      return at === undefined
        ? issue(message)
        : { ...issue(message, at.line, at.column), elementPath: at.path };
    }),
  });
}

/** parseNctsMessage reports the position inside the text: "… (line 3, column 14)". */
function issueOfParseError(error: ParseError): SubmissionIssue {
  const located = /^([\s\S]*) \(line (\d+), column (\d+)\)$/.exec(error.message);
  if (located === null) return issue(error.message);
  return issue(located[1] ?? error.message, Number(located[2]), Number(located[3]));
}
