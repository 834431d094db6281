import { execFile, execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import { XsdValidator, type ValidationIssue } from '@ctc-hub/ncts';
import { buildIE928 } from '@ctc-hub/ncts-testkit';
import type { Logger } from '@ctc-hub/telemetry';
import { HmrcError } from '../core/errors.js';
import type { XmlInfo } from '../xml/info.js';

/**
 * Schema and business validation of submissions, as HMRC's transit-movements-validator does it.
 * XSD checks use the ncts package's XsdValidator when it works; until then (or if it fails)
 * libxml2's xmllint, when installed; failing both, schema checks are skipped with a warning at
 * start-up (fails open on purpose: a local stand-in must not block development).
 */

export type SchemaPhase = 'phase5' | 'phase6';
export type SchemaResult = { ok: true } | { ok: false; errors: ValidationIssue[] };

export interface SchemaValidator {
  readonly engine: 'ncts' | 'xmllint' | 'none';
  validate(xml: Buffer, root: string, phase: SchemaPhase): Promise<SchemaResult>;
  close(): Promise<void>;
}

export const xsdRoot = () => {
  const require = createRequire(import.meta.url);
  return path.resolve(path.dirname(require.resolve('@ctc-hub/ncts')), '..', 'xsd');
};

function xmllintAvailable(): boolean {
  try {
    execFileSync('xmllint', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** `-:14: element limitDate: Schemas validity error : Element 'limitDate': …` → issues. */
export function parseXmllintErrors(stderr: string): ValidationIssue[] {
  const issues: ValidationIssue[] = [];
  for (const line of stderr.split('\n')) {
    const match =
      /^-:(\d+):\s*(?:element [^:]+:\s*)?(?:Schemas validity error|parser error|namespace error)\s*:\s*(.*)$/.exec(
        line,
      );
    if (match !== null)
      issues.push({ lineNumber: Number(match[1]), columnNumber: 1, message: match[2]!.trim() });
  }
  return issues;
}

export class XmllintValidator implements SchemaValidator {
  readonly engine = 'xmllint' as const;
  private running = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(
    private readonly xsdDirectory: string,
    private readonly concurrency = 4,
  ) {}

  async validate(xml: Buffer, root: string, phase: SchemaPhase): Promise<SchemaResult> {
    const schema = path.join(this.xsdDirectory, phase, `${root.toLowerCase()}.xsd`);
    if (this.running >= this.concurrency)
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    this.running += 1;
    try {
      const stderr = await new Promise<string | null>((resolve, reject) => {
        const child = execFile(
          'xmllint',
          ['--noout', '--nonet', '--schema', schema, '-'],
          { maxBuffer: 16 * 1024 * 1024 },
          (error, _stdout, errors) => {
            if (error === null) return resolve(null);
            // Exit 1 = not well-formed, 3/4 = invalid; anything else (5: schema did not compile) is ours.
            if (typeof error.code === 'number' && error.code >= 1 && error.code <= 4)
              return resolve(errors);
            reject(error);
          },
        );
        child.stdin?.on('error', () => undefined);
        child.stdin?.end(xml);
      });
      if (stderr === null) return { ok: true };
      const errors = parseXmllintErrors(stderr);
      return {
        ok: false,
        errors:
          errors.length > 0
            ? errors
            : [{ lineNumber: 1, columnNumber: 1, message: stderr.trim().slice(0, 500) }],
      };
    } finally {
      this.running -= 1;
      this.waiting.shift()?.();
    }
  }

  async close(): Promise<void> {}
}

class NctsValidator implements SchemaValidator {
  readonly engine = 'ncts' as const;
  constructor(private readonly validator: XsdValidator) {}
  validate(xml: Buffer, _root: string, phase: SchemaPhase): Promise<SchemaResult> {
    return this.validator.validate(xml, phase);
  }
  close(): Promise<void> {
    return this.validator.close();
  }
}

const noValidator: SchemaValidator = {
  engine: 'none',
  validate: async () => ({ ok: true }),
  close: async () => undefined,
};

export async function createSchemaValidator(logger: Logger): Promise<SchemaValidator> {
  const validator = new XsdValidator({ threads: 2 });
  try {
    // Probe with a known-valid message: the package's validator may still be a stub.
    const probe = await validator.validate(Buffer.from(buildIE928()), 'phase5');
    if (probe.ok) return new NctsValidator(validator);
    logger.warn(
      { errors: probe.errors.slice(0, 3) },
      'XsdValidator rejected a valid message; not using it',
    );
  } catch (error) {
    logger.debug({ err: error }, 'XsdValidator unavailable');
  }
  await validator.close().catch(() => undefined);
  if (xmllintAvailable()) {
    try {
      return new XmllintValidator(xsdRoot());
    } catch (error) {
      // In a bundle @ctc-hub/ncts is inlined and cannot be resolved for its XSD directory.
      logger.warn({ err: error }, 'cannot locate the NCTS XSDs for xmllint');
    }
  }
  logger.warn(
    'no XSD validator available (install libxml2-utils for xmllint): schema checks are skipped',
  );
  return noValidator;
}

const businessError = (message: string) => new HmrcError(400, 'BUSINESS_VALIDATION_ERROR', message);
const ukOffice = /^(GB|XI)/;

/**
 * HMRC's business rules on submissions (reference §3.5, §4.3): root matches messageType,
 * recipient is NTA.GB/NTA.XI of the office's country, the office is in the UK, and IE013/IE014
 * name the movement by exactly one of LRN and MRN.
 */
export function checkBusinessRules(info: XmlInfo, movementType: 'departure' | 'arrival'): void {
  if (info.messageTypeElement !== info.root)
    throw businessError("Root node doesn't match with the messageType");
  const recipient = info.messageRecipient ?? '';
  if (recipient !== 'NTA.GB' && recipient !== 'NTA.XI') {
    throw businessError(
      `The message recipient must be either NTA.GB or NTA.XI (${recipient} was specified)`,
    );
  }
  const officeElement =
    movementType === 'departure' ? 'CustomsOfficeOfDeparture' : 'CustomsOfficeOfDestinationActual';
  const office =
    movementType === 'departure' ? info.officeOfDeparture : info.officeOfDestinationActual;
  if (office !== undefined) {
    if (!ukOffice.test(office)) {
      throw businessError(
        `The customs office specified for ${officeElement} must be a customs office located in the United Kingdom (${office} was specified)`,
      );
    }
    if (office.slice(0, 2) !== recipient.slice(4)) {
      throw businessError(
        `The message recipient country must match the country of the ${officeElement}`,
      );
    }
  }
  if (info.root === 'CC013C' || info.root === 'CC014C') {
    if (info.lrn !== undefined && info.mrn !== undefined) {
      throw businessError(
        'The message must name the movement by either LRN or MRN, not both (rule C0467)',
      );
    }
    if (info.lrn === undefined && info.mrn === undefined) {
      throw businessError('The message must name the movement by LRN or MRN (rule C0467)');
    }
  }
}
