/**
 * The message flows HMRC's trader test pack states in its request names ("GET ALL IE015 →
 * IE928 → IE028 → IE060 → IE051"), and the pack's known faults: naming slips (the name states
 * a flow the scenario cannot produce; the flow it does produce is allowed instead), bodies that
 * fail HMRC's own schema while the request asserts 202, and scenarios the sandbox cannot play
 * with the pack's bodies. Keyed by `<pack>/<scenario>/<request name>`; the README lists them.
 */

export type Pack = 'GB' | 'XI';

/** IE codes in a name, in order; HMRC's "IE29" is IE029. */
export function flowOf(name: string): string[] {
  return [...name.matchAll(/IE\s?(\d{2,3})/g)].map((match) => `IE${match[1]!.padStart(3, '0')}`);
}

/** A request whose name states a flow: `GET ALL …`, or a GET naming two or more types with arrows. */
export function isFlowRequest(method: string, name: string): boolean {
  if (method !== 'GET') return false;
  const flow = flowOf(name);
  if (/GET ALL/i.test(name)) return flow.length >= 1;
  return flow.length >= 2 && /→|->|>/.test(name);
}

/** The scenario code at the start of a folder name: "DSGB4: Cancellation …" → DSGB4. */
export const scenarioCode = (folder: string): string => /^[A-Z]+\d+/.exec(folder)?.[0] ?? folder;

export interface KnownFault {
  /** Naming slip: the flow the scenario really produces, accepted in place of the name's. */
  actually?: string[];
  /** The sandbox cannot play it with these bodies: the flow check is expected to fail. */
  gap?: boolean;
  reason: string;
}

const ARRIVAL_IE045 =
  'IE045 (write-off notification) goes to the holder of the transit procedure, on the departure, ' +
  'not on the arrival; the arrival ends with IE025';

const RECORDED_MRN =
  "the IE007/IE044 bodies carry the MRN of HMRC's own recorded departure, not the MRN this run's " +
  'departure received, so the arrival cannot be linked to the departure (the runner may not edit bodies)';

export const knownFlowFaults: Readonly<Record<string, KnownFault>> = {
  // ---- GB ------------------------------------------------------------------------------
  'GB/ASGB1/07- GET ALL IE007 →IE043→  IE044 → IE025 → IE045': {
    actually: ['IE007', 'IE043', 'IE044', 'IE025'],
    reason: ARRIVAL_IE045,
  },
  'GB/ASGB5/07- GET ALL IE007 →IE043→  IE044 → IE025 → IE045': {
    actually: ['IE007', 'IE043', 'IE044', 'IE025'],
    reason: ARRIVAL_IE045,
  },
  'GB/ANGB1/05- GET ALL IE007 -> IE025 -> IE045': {
    actually: ['IE007', 'IE025'],
    reason: ARRIVAL_IE045,
  },
  'GB/ASGB3/03- GET ALL IE015 → IE928 →IE028→IE029→ IE019 → IE045': {
    actually: ['IE015', 'IE928', 'IE028', 'IE029'],
    reason:
      'requested before the arrival is even notified (request 04 posts the IE007), so IE019/IE045 ' +
      'cannot be there yet; and ' +
      RECORDED_MRN,
  },
  'GB/ASGB3/07- GET IE007 -> IE043 -> IE044 ->IE025 → IE025': {
    actually: ['IE007', 'IE043', 'IE044', 'IE025'],
    reason: 'IE025 is named twice; NCTS releases the goods once',
  },
  'GB/ASGB4/03- GET ALL IE015 > IE928 -> IE028 -> IE029->IE019->IE035': {
    actually: ['IE015', 'IE928', 'IE028', 'IE029'],
    reason:
      'requested before the arrival is notified (request 04), so IE019/IE035 cannot be there yet; ' +
      'and ' +
      RECORDED_MRN,
  },
  'GB/AGB1/05- GET IE007 -> IE057': {
    gap: true,
    reason: RECORDED_MRN + ' (the rejection comes from the departure having been invalidated)',
  },
  'GB/PSGB2/05- GET ALL IE015 → IE928→ IE170 →IE056': {
    actually: ['IE015', 'IE928'],
    reason:
      'the IE170 has an empty <LRN>, which fails the schema (400 SCHEMA_VALIDATION), so it never ' +
      'reaches NCTS and there is no IE056',
  },
  // ---- XI ------------------------------------------------------------------------------
  'XI/DSXI9/03- GET ALL IE015 > IE928 -> IE028 -> IE029': {
    actually: ['IE015', 'IE928', 'IE028', 'IE055', 'IE051'],
    reason:
      'the name is copied from DSXI1; the scenario (release refused, guarantee check failed, ' +
      'GRN 20XI0000010000110) ends IE055 → IE051 as its GB and normal twins say',
  },
  'XI/DNXI9/03- GET ALL IE015 > IE928 -> IE028 -> IE029': {
    actually: ['IE015', 'IE928', 'IE028', 'IE029', 'IE009'],
    reason:
      'the name is copied from DNXI1; the scenario (cancellation by the office of departure after ' +
      'release) ends with the IE009 its GB twin DNGB8 and DSXI8 name',
  },
  'XI/ASXI1/05- GET IE928 > IE028 > IE029': {
    actually: ['IE015', 'IE928', 'IE028', 'IE029'],
    reason: 'the name leaves out the IE015 the movement starts with',
  },
  'XI/ASXI5/05- GET IE928 > IE028 > IE029': {
    actually: ['IE015', 'IE928', 'IE028', 'IE029'],
    reason: 'the name leaves out the IE015 the movement starts with',
  },
  'XI/ASXI1/07- GET ALL IE007 →IE043→  IE044 → IE025 → IE045': {
    actually: ['IE007', 'IE043', 'IE044', 'IE025'],
    reason: ARRIVAL_IE045,
  },
  'XI/ASXI5/07- GET ALL IE007 →IE043→  IE044 → IE025 → IE045': {
    actually: ['IE007', 'IE043', 'IE044', 'IE025'],
    reason: ARRIVAL_IE045,
  },
  'XI/ASXI2/09- GET messages IE007 →IE043→  IE044→ IE057 → IE044 → IE025 →  IE045': {
    actually: ['IE007', 'IE043', 'IE044', 'IE057', 'IE044', 'IE025'],
    reason: ARRIVAL_IE045,
  },
  'XI/ASXI3/07- GET IE007 -> IE043 -> IE044 ->IE025 → IE019 → IE025 → IE045': {
    actually: ['IE007', 'IE043', 'IE044', 'IE025'],
    reason:
      'IE019 and IE045 belong to the departure (the office of departure hears of the discrepancies ' +
      'and writes the movement off), and IE025 is named twice',
  },
  'XI/ASXI4/03- GET ALL IE015 > IE928 -> IE028 -> IE029 -> IE035': {
    actually: ['IE015', 'IE928', 'IE028', 'IE029'],
    reason:
      'requested before the arrival is notified (request 04), so the IE035 (recovery after ' +
      'confirmed discrepancies) cannot be there yet; and ' +
      RECORDED_MRN,
  },
  'XI/ASXI4/07- GET IE007 -> IE043 -> IE044 ->IE025 → IE019 -> IE035': {
    actually: ['IE007', 'IE043', 'IE044', 'IE025'],
    reason: 'IE019 and IE035 belong to the departure, not the arrival',
  },
  'XI/AXI1/05 - GET ALL IE015 → IE928 →IE028→IE029 →IE009': {
    actually: ['IE015', 'IE928', 'IE028', 'IE029', 'IE009'],
    reason: 'none: listed because the scenario needs the office to invalidate (a manual step)',
  },
  'XI/AXI1/05- GET IE007 -> IE057': {
    gap: true,
    reason: RECORDED_MRN + ' (the rejection comes from the departure having been invalidated)',
  },
  'XI/PSXI2/05- GET ALL IE015 → IE928→ IE170 →IE056 -> IE056': {
    actually: ['IE015', 'IE928', 'IE170', 'IE056'],
    reason: 'IE056 is named twice; NCTS rejects the presentation once',
  },
  'XI/PNXI2/05- GET ALL IE015 → IE928→ IE170 →IE056 -> IE056': {
    actually: ['IE015', 'IE928', 'IE170', 'IE056'],
    reason: 'IE056 is named twice; NCTS rejects the presentation once',
  },
};

/**
 * Requests whose body fails HMRC's own schema while the pack asserts 202: HMRC answers 400
 * SCHEMA_VALIDATION, and so do the sandbox and ctc-hub. Their status assertion is expected to
 * fail. Keyed like knownFlowFaults; the value names the rule broken.
 */
export const schemaInvalidRequests: Readonly<Record<string, string>> = {
  'GB/PSGB2/04 - POST IE170 No Auth No':
    'CC170C TransitOperation/LRN is empty: LRN is an..22 with minLength 1 (LRNType), so <LRN></LRN> fails the XSD',
};

const LOCATION =
  "the test script reads a Location header (postman.getResponseHeader('Location').toString()); " +
  "HMRC's API 2.x answers 202 without one (API 1.0 sent it), so the script throws at HMRC too";

/**
 * Requests whose test scripts fail against HMRC's own API (not an answer we could change).
 * Keyed like knownFlowFaults; such failures (an assertion or a script error) are expected.
 */
export const scriptFaults: Readonly<Record<string, string>> = {
  'GB/ASGB2/04- POST IE007 Simplified': LOCATION,
  'GB/ASGB2/06-IE044 (Unloading Remarks) - No stateOfSeals': LOCATION,
  'GB/ASGB2/06- Valid IE044 (Unloading Remarks)': LOCATION,
  'XI/ASXI3/04- POST IE007 Simplified': LOCATION,
};

/**
 * Manual steps HMRC's Trader Test team performs for scenarios whose bodies are identical to the
 * plain declaration's (the tester asks for them): the runner plays that role through the
 * sandbox's officer API right after the declaration is accepted. Keyed by folder-name text.
 */
export const manualSteps: readonly { match: RegExp; action: string; why: string }[] = [
  {
    match: /Control by office of departure satisfactory/i,
    action: 'control-satisfactory',
    why: 'the officer controls the goods and is satisfied (IE060, then IE029)',
  },
  {
    match: /Control by office of departure unsatisfactory/i,
    action: 'control-unsatisfactory',
    why: 'the officer controls the goods and refuses release (IE060, then IE051)',
  },
  {
    match: /Cancellation of a transit declaration after release for transit by OoDep/i,
    action: 'invalidate',
    why: 'the office of departure invalidates the released declaration (IE009)',
  },
  {
    match: /Rejection of the Arrival Notification/i,
    action: 'invalidate',
    why: 'the office invalidates the departure, so an arrival for it is rejected',
  },
  {
    match: /Departures amendments/i,
    action: 'hold',
    why: 'the office holds the release until the holder has amended the declaration (IE013 before IE029)',
  },
  {
    match: /Cancellation request by the holder of the transit procedure before release/i,
    action: 'hold',
    why: 'the office holds the release until the holder has asked to cancel (IE014 before IE029)',
  },
];
