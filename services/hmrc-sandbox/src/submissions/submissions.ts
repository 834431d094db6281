import { randomBytes, randomUUID } from 'node:crypto';
import { badRequest, HmrcError } from '../core/errors.js';
import type { RuntimeSettings } from '../core/settings.js';
import type { Movement, MovementStore, MovementType, StoredMessage } from '../core/store.js';
import type { Inbound } from '../lifecycle/inbound.js';
import type { NctsSimulator, Outcome } from '../lifecycle/simulator.js';
import { asHmrcReadsIt, storedBody } from '../xml/encoding.js';
import { readXmlInfo, type XmlInfo } from '../xml/info.js';
import { checkBusinessRules, type SchemaPhase, type SchemaValidator } from './validation.js';

/**
 * What happens to a trader's message once its bytes are known, for both routes: the small
 * route (POST body, answered synchronously) and the large route (upload, answered through a
 * SUBMISSION_NOTIFICATION). Order of checks as HMRC: message type for the endpoint, XSD,
 * business rules, then duplicate LRN.
 */

export const submittable: Record<MovementType, { create: string; followUps: readonly string[] }> = {
  departure: { create: 'IE015', followUps: ['IE013', 'IE014', 'IE170'] },
  arrival: { create: 'IE007', followUps: ['IE044'] },
};

/** A submission target: a new movement, or a follow-up message of an existing one. */
export type Target =
  { kind: 'new'; type: MovementType; eori: string } | { kind: 'follow-up'; movement: Movement };

export interface PendingUpload {
  uploadId: string;
  target: Target;
  movement: Movement;
  message: StoredMessage;
  phase: SchemaPhase;
  outcome: Outcome | undefined;
  fields: Record<string, string>;
}

export class Submissions {
  private readonly uploads = new Map<string, PendingUpload>();

  constructor(
    private readonly store: MovementStore,
    private readonly validator: SchemaValidator,
    private readonly simulator: NctsSimulator,
    private readonly inbound: Inbound,
    private readonly settings: RuntimeSettings,
  ) {}

  /** Validates `xml` for `target`; throws the HmrcError HMRC would answer with. */
  async validate(submitted: Buffer, target: Target, phase: SchemaPhase): Promise<XmlInfo> {
    const xml = asHmrcReadsIt(submitted);
    const type = target.kind === 'new' ? target.type : target.movement.type;
    const allowed =
      target.kind === 'new' ? [submittable[type].create] : submittable[type].followUps;
    const info = readXmlInfo(xml);
    if (info.messageType !== undefined && !allowed.includes(info.messageType)) {
      throw badRequest(`${info.messageType} is not a valid message type`);
    }
    const root =
      info.root !== undefined && info.messageType !== undefined
        ? info.root
        : `CC${allowed[0]!.slice(2)}C`;
    const schema = await this.validator.validate(xml, root, phase);
    if (!schema.ok) {
      throw new HmrcError(400, 'SCHEMA_VALIDATION', 'Request failed schema validation', {
        // HMRC's fields only: our validator also names the element path, HMRC does not.
        validationErrors: schema.errors.map(({ lineNumber, columnNumber, message }) => ({
          lineNumber,
          columnNumber,
          message,
        })),
      });
    }
    if (info.messageType === undefined) throw badRequest('Input was malformed');
    checkBusinessRules(info, type);
    if (
      target.kind === 'new' &&
      type === 'departure' &&
      info.lrn !== undefined &&
      this.store.lrnInUse(target.eori, info.lrn)
    ) {
      throw new HmrcError(
        409,
        'CONFLICT',
        `LRN ${info.lrn} has previously been used and cannot be reused`,
      );
    }
    return info;
  }

  /** Stores an accepted small-route submission and starts NCTS's answers. */
  accept(
    xml: Buffer,
    info: XmlInfo,
    target: Target,
    outcome: Outcome | undefined,
    phase: SchemaPhase = 'phase5',
  ): { movement: Movement; message: StoredMessage } {
    const movement =
      target.kind === 'new'
        ? this.store.create({
            type: target.type,
            enrollmentEori: target.eori,
            boxId: this.settings.boxConfigured ? this.settings.boxId : undefined,
          })
        : target.movement;
    if (target.kind === 'new' && phase === 'phase6') movement.phase = 'phase6';
    this.applyInfo(movement, info, target);
    const message = this.store.addMessage(movement, {
      messageType: info.messageType,
      status: 'Success',
      // transit-movements keeps a small body as text decoded from UTF-8 (xml/encoding.ts).
      body: storedBody(xml),
    });
    this.answer(movement, info, outcome, xml);
    return { movement, message };
  }

  /** Fills movement fields from the (validated) message it was created with. */
  private applyInfo(movement: Movement, info: XmlInfo, target: Target): void {
    if (target.kind !== 'new') return;
    if (movement.type === 'departure') {
      movement.lrn = info.lrn;
      movement.movementEori = info.holderEori ?? movement.enrollmentEori;
      movement.officeOfDeparture = info.officeOfDeparture;
      movement.officeOfDestination = info.officeOfDestinationDeclared;
      if (info.lrn !== undefined) this.store.useLrn(target.eori, info.lrn);
    } else {
      movement.mrn = info.mrn;
      movement.movementEori = info.traderAtDestinationEori ?? movement.enrollmentEori;
      movement.officeOfDestination = info.officeOfDestinationActual;
    }
  }

  private answer(
    movement: Movement,
    info: XmlInfo,
    outcome: Outcome | undefined,
    xml: Buffer,
  ): void {
    switch (info.messageType) {
      case 'IE015':
        return this.simulator.afterDeclaration(movement, info, outcome, xml);
      case 'IE013':
        return this.simulator.afterAmendment(movement, info, outcome, xml);
      case 'IE014':
        return this.simulator.afterInvalidationRequest(movement, info, outcome);
      case 'IE170':
        return this.simulator.afterPresentation(movement, info, outcome, xml);
      case 'IE007':
        return this.simulator.afterArrivalNotification(movement, info, outcome, xml);
      case 'IE044':
        return this.simulator.afterUnloadingRemarks(movement, info, outcome, xml);
      default:
        return undefined;
    }
  }

  /**
   * Large route, step 1: the movement (for a new one) and a Pending message without body, and
   * an upload slot whose form fields imitate Upscan's pre-signed S3 POST.
   */
  openUpload(
    target: Target,
    phase: SchemaPhase,
    outcome: Outcome | undefined,
    origin: string,
  ): {
    movement: Movement;
    message: StoredMessage;
    uploadRequest: { href: string; fields: Record<string, string> };
  } {
    const movement =
      target.kind === 'new'
        ? this.store.create({
            type: target.type,
            enrollmentEori: target.eori,
            boxId: this.settings.boxConfigured ? this.settings.boxId : undefined,
          })
        : target.movement;
    const message = this.store.addMessage(movement, {
      messageType: undefined,
      status: 'Pending',
      body: undefined,
    });
    const uploadId = randomUUID();
    const now = new Date();
    const amzDate = now
      .toISOString()
      .replace(/[-:]/g, '')
      .replace(/\.\d{3}/, '');
    const fields: Record<string, string> = {
      'x-amz-meta-callback-url': `${origin}/_sandbox/upload-callback/${movement.id}/${message.id}`,
      'x-amz-date': amzDate,
      'x-amz-credential': `ASIA${randomBytes(8).toString('hex').toUpperCase()}/${amzDate.slice(0, 8)}/eu-west-2/s3/aws4_request`,
      'x-amz-meta-request-id': randomUUID(),
      'x-amz-meta-consuming-service': 'common-transit-convention-traders',
      'x-amz-algorithm': 'AWS4-HMAC-SHA256',
      key: uploadId,
      acl: 'private',
      'x-amz-signature': randomBytes(32).toString('hex'),
      policy: Buffer.from(
        JSON.stringify({
          expiration: new Date(now.getTime() + 7 * 864e5).toISOString(),
          key: uploadId,
        }),
      ).toString('base64'),
    };
    this.uploads.set(uploadId, { uploadId, target, movement, message, phase, outcome, fields });
    return {
      movement,
      message,
      // On the upload listener, another host than the API's, as HMRC's Upscan proxy is.
      uploadRequest: { href: `${this.settings.uploadBaseUrl}/v1/uploads/${uploadId}`, fields },
    };
  }

  upload(uploadId: string): PendingUpload | undefined {
    return this.uploads.get(uploadId);
  }

  /**
   * Large route, step 2 (after the file arrived): validate like the small route, then tell the
   * trader through a SUBMISSION_NOTIFICATION. Failures mark the message Failed.
   */
  async completeUpload(upload: PendingUpload, xml: Buffer): Promise<void> {
    this.uploads.delete(upload.uploadId);
    const { movement, message } = upload;
    message.body = xml;
    message.status = 'Processing';
    const target: Target =
      upload.target.kind === 'new' ? upload.target : { kind: 'follow-up', movement };
    let info: XmlInfo;
    try {
      info = await this.validate(xml, target, upload.phase);
    } catch (error) {
      if (!(error instanceof HmrcError)) throw error;
      message.status = 'Failed';
      message.messageType = readXmlInfo(xml).messageType;
      this.inbound.submissionOutcome(movement, message, {
        code: error.code,
        message: error.message,
        ...(Array.isArray(error.extra.validationErrors)
          ? { validationErrors: error.extra.validationErrors }
          : {}),
      });
      return;
    }
    this.applyInfo(movement, info, upload.target);
    if (upload.target.kind === 'new' && upload.phase === 'phase6') movement.phase = 'phase6';
    message.messageType = info.messageType;
    message.status = 'Success';
    this.inbound.submissionOutcome(movement, message, {
      code: 'SUCCESS',
      message: `The message ${message.id} for movement ${movement.id} was successfully processed`,
    });
    this.answer(movement, info, upload.outcome, xml);
  }

  reset(): void {
    this.uploads.clear();
  }
}
