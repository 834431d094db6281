// STUB: implemented by the ncts helper (issue 3 uses it; compile schemas once, validate off the main thread).
import type { SchemaPhase, ValidationResult } from '../types.js';
export interface XsdValidatorOptions { threads?: number }
export function schemaPhaseForApiVersion(version: string): SchemaPhase { return version.startsWith('3') ? 'phase6' : 'phase5'; }
export class XsdValidator {
  constructor(options?: XsdValidatorOptions) { void options; }
  async validate(xml: Buffer | string, phase: SchemaPhase): Promise<ValidationResult> { void xml; void phase; throw new Error('not implemented'); }
  async close(): Promise<void> {}
}
