/**
 * The manual steps of HMRC's Trader Test: what a customs officer at the office of departure (or
 * HMRC's support team on the tester's request) decides where no message content could. The
 * trader test pack's control, "cancellation by the office of departure" and "major discrepancies
 * confirmed" scenarios send bodies identical to the plain declaration's; HMRC plays them by hand.
 */
export const officerActions = [
  /** Control before release, then release (IE060 → IE029). */
  'control-satisfactory',
  /** Control before release, then release refused (IE060 → IE051). */
  'control-unsatisfactory',
  /** Hold the release decision (no IE029 until `release`, or the trader's amendment). */
  'hold',
  /** Lift a hold: release now. */
  'release',
  /** The office invalidates the declaration (after release: IE009 initiated by customs). */
  'invalidate',
  /** Major discrepancies reported at destination: resolved (IE045) or confirmed (IE035). */
  'discrepancies-resolved',
  'discrepancies-confirmed',
] as const;

export type OfficerAction = (typeof officerActions)[number];

export interface OfficerDecisions {
  control?: 'satisfactory' | 'unsatisfactory';
  hold?: boolean;
  invalidate?: boolean;
  discrepancies?: 'resolved' | 'confirmed';
}
