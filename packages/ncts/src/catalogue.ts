import type { CatalogueEntry, Direction, MovementType } from './types.js';

/**
 * The NCTS message catalogue: phase 5/6 messages (hmrc-ctc-reference §4.1) and their retired phase-4
 * equivalents (§4.2). Phase-4 codes without a phase-5 counterpart (IE016, IE008, IE058) have
 * `root: null`; their phase-4 roots still resolve, so stored phase-4 history keeps its type.
 */

const inbound: Direction = 'inbound';
const outbound: Direction = 'outbound';

function entry(
  code: string,
  root: string | null,
  phase4Roots: readonly string[],
  shortName: string | null,
  name: string,
  direction: Direction,
  movementType: MovementType | 'both',
  submittable = false,
): CatalogueEntry {
  return Object.freeze({
    code,
    root,
    phase4Roots: Object.freeze([...phase4Roots]),
    shortName,
    name,
    direction,
    movementType,
    submittable,
  });
}

export const catalogue: readonly CatalogueEntry[] = Object.freeze([
  // Departures.
  entry('IE004', 'CC004C', [], 'E_AMD_ACC', 'Amendment Acceptance', inbound, 'departure'),
  entry('IE009', 'CC009C', ['CC009A'], 'E_INV_DEC', 'Invalidation Decision', inbound, 'departure'),
  entry('IE013', 'CC013C', [], 'E_DEC_AMD', 'Declaration Amendment', outbound, 'departure', true),
  entry(
    'IE014',
    'CC014C',
    ['CC014A'],
    'E_DEC_INV',
    'Declaration Invalidation Request',
    outbound,
    'departure',
    true,
  ),
  entry(
    'IE015',
    'CC015C',
    ['CC015B'],
    'E_DEC_DAT',
    'Declaration Data',
    outbound,
    'departure',
    true,
  ),
  // Phase 4 only; phase 5 rejects a declaration with IE056 instead.
  entry('IE016', null, ['CC016A'], 'E_DEC_REJ', 'Declaration Rejection', inbound, 'departure'),
  entry('IE019', 'CC019C', [], 'E_DIS_SND', 'Discrepancies', inbound, 'departure'),
  entry(
    'IE022',
    'CC022C',
    [],
    'E_AMD_NOT',
    'Notification To Amend Declaration',
    inbound,
    'departure',
  ),
  entry('IE028', 'CC028C', ['CC028A'], 'E_MRN_ALL', 'MRN Allocated', inbound, 'departure'),
  entry('IE029', 'CC029C', ['CC029B'], 'E_REL_TRA', 'Release For Transit', inbound, 'departure'),
  entry('IE035', 'CC035C', [], 'E_REC_NOT', 'Recovery Notification', inbound, 'departure'),
  entry('IE045', 'CC045C', ['CC045A'], 'E_WRT_NOT', 'Write-Off Notification', inbound, 'departure'),
  entry('IE051', 'CC051C', ['CC051B'], 'E_REL_NOT', 'No Release For Transit', inbound, 'departure'),
  // Not exposed by the CTC API, but transit-movements knows it as a departure request.
  entry('IE054', 'CC054C', [], 'E_REQ_REL', 'Request Of Release', outbound, 'departure'),
  entry('IE055', 'CC055C', ['CC055A'], 'E_GUA_INV', 'Guarantee Not Valid', inbound, 'departure'),
  entry(
    'IE056',
    'CC056C',
    [],
    'E_DEP_REJ',
    'Rejection From Office Of Departure',
    inbound,
    'departure',
  ),
  entry(
    'IE060',
    'CC060C',
    ['CC060A'],
    'E_CTR_DEC',
    'Control Decision Notification',
    inbound,
    'departure',
  ),
  entry('IE140', 'CC140C', [], null, 'Request On Non-Arrived Movement', inbound, 'departure'),
  entry(
    'IE141',
    'CC141C',
    [],
    null,
    'Information About Non-Arrived Movement',
    outbound,
    'departure',
  ),
  entry(
    'IE170',
    'CC170C',
    [],
    'E_PRE_NOT',
    'Presentation Notification For The Pre-Lodged Declaration',
    outbound,
    'departure',
    true,
  ),
  entry(
    'IE182',
    'CC182C',
    [],
    'E_INC_NOT',
    'Forwarded Incident Notification To ED',
    inbound,
    'departure',
  ),
  entry('IE928', 'CC928C', ['CC928A'], 'E_POS_ACK', 'Positive Acknowledge', inbound, 'departure'),

  // Arrivals.
  entry(
    'IE007',
    'CC007C',
    ['CC007A'],
    'E_ARR_NOT',
    'Arrival Notification',
    outbound,
    'arrival',
    true,
  ),
  // Phase 4 only; phase 5 rejects an arrival notification with IE057 instead.
  entry('IE008', null, ['CC008A'], 'E_ARR_REJ', 'Arrival Rejection', inbound, 'arrival'),
  entry(
    'IE025',
    'CC025C',
    ['CC025A'],
    'E_GDS_REL',
    'Goods Release Notification',
    inbound,
    'arrival',
  ),
  entry('IE043', 'CC043C', ['CC043A'], 'E_ULD_PER', 'Unloading Permission', inbound, 'arrival'),
  entry('IE044', 'CC044C', ['CC044A'], 'E_ULD_REM', 'Unloading Remarks', outbound, 'arrival', true),
  entry(
    'IE057',
    'CC057C',
    [],
    'E_DES_REJ',
    'Rejection From Office Of Destination',
    inbound,
    'arrival',
  ),
  // Phase 4 only, no direct phase-5 equivalent.
  entry('IE058', null, ['CC058A'], 'E_ULD_REJ', 'Unloading Remarks Rejection', inbound, 'arrival'),

  // Either movement type. CTC lists IE906 among departure messages, but a functional NACK can
  // answer any message a trader sends, arrival notifications included.
  entry('IE906', 'CC906C', [], null, 'Functional NACK', inbound, 'both'),
  entry('IE917', 'CC917C', ['CC917A'], null, 'XML NACK', inbound, 'both'),
]);

const byCode = new Map<string, CatalogueEntry>();
const byRoot = new Map<string, CatalogueEntry>();
for (const item of catalogue) {
  byCode.set(item.code, item);
  if (item.root !== null) byRoot.set(item.root, item);
  for (const root of item.phase4Roots) byRoot.set(root, item);
}

export function catalogueByCode(code: string): CatalogueEntry | undefined {
  return byCode.get(code);
}

/** Entry for a phase 4, 5 or 6 root element name without prefix (CC028C, CC028A). */
export function catalogueByRoot(root: string): CatalogueEntry | undefined {
  return byRoot.get(root);
}

/** IE code for a root element (CC028C → IE028, CC028A → IE028); undefined if unknown. */
export function messageTypeOfRoot(root: string): string | undefined {
  return byRoot.get(root)?.code;
}

export const submittableMessageTypes: readonly string[] = Object.freeze(
  catalogue.filter((item) => item.submittable).map((item) => item.code),
);
