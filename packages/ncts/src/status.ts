// STUB: implemented by the ncts helper.
import type { MessageSummary, MovementStatus, MovementType, StatusFact } from './types.js';
export const movementStatuses: Record<MovementType, readonly string[]> = { departure: [], arrival: [] };
export function statusFactOf(summary: MessageSummary): StatusFact { void summary; throw new Error('not implemented'); }
/** Status from the set of messages a movement has; independent of arrival order. */
export function deriveMovementStatus(movementType: MovementType, facts: readonly StatusFact[]): MovementStatus { void movementType; void facts; throw new Error('not implemented'); }
