import type { Request } from 'express';
import { z } from 'zod';
import { badRequest } from '../http/errors.js';
import { eoriPattern } from '../http/params.js';
import { checked } from '../http/schemas.js';

/**
 * Input of POST /v1/guarantees/{grn}/balance, checked before anything is claimed or queued so a
 * malformed request never spends HMRC's one-minute window. Patterns are HMRC's (reference §5).
 */

export const grnPattern = /^[0-9]{2}[A-Z]{2}[A-Z0-9]{12}[0-9]$/;
const accessCodePattern = /^[A-Za-z0-9]{4}$/;

export interface BalanceRequest {
  grn: string;
  eori: string;
  accessCode: string;
}

/** `X-Trader-EORI`: whose HMRC authority the check uses. */
export function traderEori(request: Request): string {
  const given = request.headers['x-trader-eori'];
  if (given === undefined || given === '') {
    throw badRequest('The X-Trader-EORI header is required: the EORI whose HMRC authority to use');
  }
  const eori = (Array.isArray(given) ? (given[0] ?? '') : given).trim().toUpperCase();
  if (!eoriPattern.test(eori)) {
    throw badRequest('The X-Trader-EORI header must be an EORI such as GB123456789000');
  }
  return eori;
}

/** The GRN path parameter, with HMRC's message; also what the OpenAPI document shows. */
export const grnPath = z
  .string()
  .regex(
    grnPattern,
    'The guarantee reference number is not in the correct format: it must match ' +
      '^[0-9]{2}[A-Z]{2}[A-Z0-9]{12}[0-9]$, e.g. 24GB0000010000001',
  )
  .meta({ description: 'Guarantee reference number', examples: ['24GB0000010000001'] });

export function guaranteeReference(request: Request): string {
  return checked(grnPath, String(request.params.grn ?? ''));
}

/** The JSON body `{"accessCode": "ABC1"}`, read from the raw bytes for clear messages. */
export function accessCodeOf(body: unknown): string {
  const text = Buffer.isBuffer(body) ? body.toString('utf8').trim() : '';
  if (text === '') throw badRequest('The request body must be JSON: {"accessCode": "ABC1"}');
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw badRequest('The request body is not valid JSON: send {"accessCode": "ABC1"}');
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw badRequest('The request body must be a JSON object: {"accessCode": "ABC1"}');
  }
  const accessCode = (json as Record<string, unknown>).accessCode;
  if (accessCode === undefined || accessCode === null) {
    throw badRequest('The access code was not supplied.');
  }
  // The code is a secret: it is never echoed back or logged.
  if (typeof accessCode !== 'string' || !accessCodePattern.test(accessCode)) {
    throw badRequest('The access code must be exactly four letters or digits.');
  }
  return accessCode;
}
