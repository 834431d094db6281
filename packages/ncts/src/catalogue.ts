// STUB: implemented by the ncts helper.
import type { CatalogueEntry } from './types.js';
export const catalogue: readonly CatalogueEntry[] = [];
export function catalogueByCode(code: string): CatalogueEntry | undefined { void code; throw new Error('not implemented'); }
export function catalogueByRoot(root: string): CatalogueEntry | undefined { void root; throw new Error('not implemented'); }
/** IE code for a root element (CC028C → IE028, CC028A → IE028); undefined if unknown. */
export function messageTypeOfRoot(root: string): string | undefined { void root; throw new Error('not implemented'); }
export const submittableMessageTypes: readonly string[] = [];
