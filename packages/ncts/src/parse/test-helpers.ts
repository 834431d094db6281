import { readFileSync } from 'node:fs';
import { fixturePath } from '@ctc-hub/testing';
import type { MessageSummary } from '../types.js';
import { parseNctsMessage } from './parse.js';

// Shared by the parse tests (not part of the package API).

export const example = (relative: string): Buffer =>
  readFileSync(fixturePath(`ncts/examples/${relative}`));

export function summaryOf(xml: string | Buffer): MessageSummary {
  const result = parseNctsMessage(xml);
  if (!result.ok) throw new Error(`expected a summary, got ${JSON.stringify(result.error)}`);
  return result.summary;
}

export const ncts = (root: string, body: string, attributes = 'PhaseID="NCTS5.0"') =>
  `<ncts:${root} ${attributes} xmlns:ncts="http://ncts.dgtaxud.ec">${body}</ncts:${root}>`;

export const header = (root: string) => `
  <messageSender>NTA.GB</messageSender>
  <messageRecipient>GB123456789000</messageRecipient>
  <preparationDateAndTime>2024-05-14T15:26:40</preparationDateAndTime>
  <messageIdentification>MSG0001</messageIdentification>
  <messageType>${root}</messageType>
  <correlationIdentifier>CORR0001</correlationIdentifier>`;
