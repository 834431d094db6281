import { parseNctsMessage } from './parse/parse.js';
import { deriveMovementStatus, movementStatuses, statusFactOf } from './status.js';
import type { MovementType, StatusFact } from './types.js';

const fact = (messageType: string | null, extra: Partial<StatusFact> = {}): StatusFact => ({
  messageType,
  rejectedMessageType: null,
  invalidationDecision: null,
  ...extra,
});
const rejection = (messageType: string, rejected: string | null) =>
  fact(messageType, { rejectedMessageType: rejected });
const invalidation = (decision: boolean) => fact('IE009', { invalidationDecision: decision });

function* permutations<T>(items: readonly T[]): Generator<T[]> {
  if (items.length <= 1) {
    yield [...items];
    return;
  }
  for (let i = 0; i < items.length; i++) {
    const rest = [...items.slice(0, i), ...items.slice(i + 1)];
    for (const permutation of permutations(rest)) yield [items[i] as T, ...permutation];
  }
}

/** Asserts the status of every ordering of the set (and of the set with a duplicate message). */
function expectStatus(movementType: MovementType, facts: StatusFact[], expected: string): void {
  let orderings = 0;
  for (const ordering of permutations(facts)) {
    expect({
      ordering: ordering.map(label),
      status: deriveMovementStatus(movementType, ordering),
    }).toEqual({
      ordering: ordering.map(label),
      status: expected,
    });
    orderings++;
  }
  if (facts.length > 0) {
    const [firstFact] = facts;
    expect(deriveMovementStatus(movementType, [...facts, firstFact as StatusFact])).toBe(expected);
  }
  expect(orderings).toBeGreaterThan(0);
}

function label(item: StatusFact): string {
  return [item.messageType, item.rejectedMessageType, item.invalidationDecision]
    .filter((part) => part !== null)
    .join(':');
}

const IE015 = fact('IE015');
const IE928 = fact('IE928');
const IE028 = fact('IE028');
const IE060 = fact('IE060');
const IE029 = fact('IE029');
const IE045 = fact('IE045');

describe('deriveMovementStatus for departures', () => {
  it.each([
    [[], 'unknown'],
    [[IE015], 'submitted'],
    [[IE015, IE928], 'acknowledged'],
    [[IE015, IE928, IE028], 'mrn_allocated'],
    [[IE015, IE928, IE028, IE060], 'under_control'],
    [[IE015, IE928, IE028, IE060, IE029], 'released'],
    [[IE015, IE928, IE028, IE060, IE029, IE045], 'written_off'],
  ])('happy path %#: every ordering of the messages so far gives %s', (facts, expected) => {
    expectStatus('departure', facts, expected);
  });

  it.each([
    ['release without the MRN message (out of order)', [IE015, IE029], 'released'],
    ['release arriving before its acknowledgement', [IE029, IE928], 'released'],
    ['no release after control', [IE015, IE928, IE028, IE060, fact('IE051')], 'not_released'],
    ['guarantee not valid', [IE015, IE928, IE028, fact('IE055')], 'guarantee_invalid'],
    ['guarantee not valid, then controlled', [IE028, fact('IE055'), IE060], 'guarantee_invalid'],
    ['guarantee not valid, released anyway', [IE028, fact('IE055'), IE029], 'released'],
    ['declaration rejected', [IE015, IE928, rejection('IE056', '015')], 'rejected'],
    [
      'rejection without a type reads as the declaration',
      [IE015, rejection('IE056', null)],
      'rejected',
    ],
    ['phase 4 declaration rejection', [IE015, fact('IE016')], 'rejected'],
    [
      'a rejection never hides an allocated MRN',
      [IE015, rejection('IE056', '015'), IE028],
      'mrn_allocated',
    ],
    ['nor a release', [IE015, rejection('IE056', '015'), IE029], 'released'],
    [
      'rejected amendment changes nothing',
      [IE015, IE928, IE028, fact('IE013'), rejection('IE056', '013')],
      'mrn_allocated',
    ],
    [
      'rejected presentation notification changes nothing',
      [IE015, IE928, fact('IE170'), rejection('IE056', '170')],
      'acknowledged',
    ],
    ['invalidation requested', [IE015, IE928, IE028, fact('IE014')], 'invalidation_requested'],
    [
      'invalidation accepted',
      [IE015, IE928, IE028, fact('IE014'), invalidation(true)],
      'invalidated',
    ],
    [
      'invalidation refused',
      [IE015, IE928, IE028, fact('IE014'), invalidation(false)],
      'mrn_allocated',
    ],
    [
      'invalidation request rejected',
      [IE015, IE028, fact('IE014'), rejection('IE056', '014')],
      'mrn_allocated',
    ],
    ['invalidation by customs, unasked', [IE015, IE928, IE028, invalidation(true)], 'invalidated'],
    [
      'released movements are not invalidation_requested',
      [IE028, IE029, fact('IE014')],
      'released',
    ],
    ['enquiry about a movement that has not arrived', [IE028, IE029, fact('IE140')], 'enquiry'],
    ['recovery', [IE028, IE029, fact('IE140'), fact('IE035')], 'recovery'],
    ['major discrepancies reported', [IE015, IE028, IE029, fact('IE019')], 'discrepancies'],
    ['discrepancies resolved', [IE028, IE029, fact('IE019'), IE045], 'written_off'],
    ['discrepancies confirmed', [IE028, IE029, fact('IE019'), fact('IE035')], 'recovery'],
    ['control unsatisfactory', [IE015, IE928, IE028, IE060, fact('IE051')], 'not_released'],
    ['guarantee check failed', [IE015, IE928, IE028, fact('IE055'), fact('IE051')], 'not_released'],
    [
      'holder cancels after release',
      [IE028, IE029, fact('IE014'), rejection('IE056', '014')],
      'released',
    ],
    ['office cancels after release', [IE028, IE029, invalidation(true)], 'invalidated'],
    [
      'presentation rejected',
      [IE015, IE928, fact('IE170'), rejection('IE056', '170')],
      'acknowledged',
    ],
    ['written off after recovery', [IE028, IE029, fact('IE035'), IE045], 'written_off'],
    ['NACKs change nothing', [IE015, IE928, IE028, fact('IE906'), fact('IE917')], 'mrn_allocated'],
    [
      'notices change nothing',
      [IE028, fact('IE004'), fact('IE022'), fact('IE182')],
      'mrn_allocated',
    ],
    ['only a NACK: still a submitted declaration', [fact('IE906')], 'submitted'],
  ])('%s → %s in every order', (_, facts, expected) => {
    expectStatus('departure', facts as StatusFact[], expected as string);
  });

  it('ignores unknown types and arrival types', () => {
    const sets = [[], [IE015], [IE015, IE928, IE028], [IE015, IE029, IE045]];
    for (const facts of sets) {
      const base = deriveMovementStatus('departure', facts);
      expect(deriveMovementStatus('departure', [...facts, fact(null)])).toBe(base);
      expect(deriveMovementStatus('departure', [...facts, fact('IE999')])).toBe(base);
      expect(deriveMovementStatus('departure', [fact('IE025'), fact('IE043'), ...facts])).toBe(
        base,
      );
    }
  });
});

describe('deriveMovementStatus for arrivals', () => {
  const IE007 = fact('IE007');
  const IE043 = fact('IE043');
  const IE044 = fact('IE044');
  const IE025 = fact('IE025');

  it.each([
    [[], 'unknown'],
    [[IE007], 'arrival_notified'],
    [[IE007, IE043], 'unloading_permission'],
    [[IE007, IE043, IE044], 'unloading_remarks'],
    [[IE007, IE043, IE044, IE025], 'goods_released'],
  ])('happy path %#: every ordering gives %s', (facts, expected) => {
    expectStatus('arrival', facts, expected);
  });

  it.each([
    ['arrival rejected', [IE007, rejection('IE057', '007')], 'rejected'],
    ['rejection without a type', [IE007, rejection('IE057', null)], 'rejected'],
    ['phase 4 arrival rejection', [IE007, fact('IE008')], 'rejected'],
    [
      'rejection then a new notification and permission',
      [IE007, rejection('IE057', '007'), IE043],
      'unloading_permission',
    ],
    [
      'unloading remarks rejected',
      [IE007, IE043, IE044, rejection('IE057', '044')],
      'unloading_remarks_rejected',
    ],
    [
      'unloading remarks rejected, sent again and accepted',
      [IE007, IE043, IE044, rejection('IE057', '044'), IE044, IE025],
      'goods_released',
    ],
    [
      'phase 4 unloading remarks rejected',
      [IE007, IE043, IE044, fact('IE058')],
      'unloading_remarks_rejected',
    ],
    ['goods released without unloading remarks (no control)', [IE007, IE025], 'goods_released'],
    ['released despite a rejection', [IE007, rejection('IE057', '007'), IE025], 'goods_released'],
    ['duplicate IE043 (NCTS re-sends it)', [IE007, IE043, IE043], 'unloading_permission'],
  ])('%s → %s in every order', (_, facts, expected) => {
    expectStatus('arrival', facts as StatusFact[], expected as string);
  });

  it('ignores unknown types and departure types', () => {
    for (const facts of [[], [IE007], [IE007, IE043]]) {
      const base = deriveMovementStatus('arrival', facts);
      expect(
        deriveMovementStatus('arrival', [...facts, fact('CC999C'), fact(null), IE029, IE045]),
      ).toBe(base);
    }
  });
});

describe('movementStatuses', () => {
  it('lists every status deriveMovementStatus can return, once', () => {
    for (const movementType of ['departure', 'arrival'] as const) {
      const listed = movementStatuses[movementType];
      expect(new Set(listed).size).toBe(listed.length);
    }
    const departureResults = [
      [],
      [IE015],
      [IE928],
      [rejection('IE056', '015')],
      [IE028],
      [IE060],
      [fact('IE055')],
      [fact('IE014')],
      [IE029],
      [fact('IE051')],
      [fact('IE140')],
      [fact('IE019')],
      [fact('IE035')],
      [invalidation(true)],
      [IE045],
    ].map((facts) => deriveMovementStatus('departure', facts));
    expect([...new Set(departureResults)].sort()).toEqual([...movementStatuses.departure].sort());
    const arrivalResults = [
      [],
      [fact('IE007')],
      [fact('IE057')],
      [fact('IE043')],
      [fact('IE044')],
      [rejection('IE057', '044')],
      [fact('IE025')],
    ].map((facts) => deriveMovementStatus('arrival', facts));
    expect([...new Set(arrivalResults)].sort()).toEqual([...movementStatuses.arrival].sort());
  });
});

describe('statusFactOf', () => {
  it('takes the type, the rejected message and the invalidation decision from a summary', () => {
    const parsed = parseNctsMessage(
      `<ncts:CC056C xmlns:ncts="http://ncts.dgtaxud.ec"><messageType>CC056C</messageType>
        <TransitOperation><businessRejectionType>013</businessRejectionType></TransitOperation>
      </ncts:CC056C>`,
    );
    if (!parsed.ok) throw new Error(parsed.error.message);
    expect(statusFactOf(parsed.summary)).toEqual({
      messageType: 'IE056',
      rejectedMessageType: '013',
      invalidationDecision: null,
    });

    const decision = parseNctsMessage(
      `<ncts:CC009C xmlns:ncts="http://ncts.dgtaxud.ec"><Invalidation><decision>1</decision></Invalidation></ncts:CC009C>`,
    );
    if (!decision.ok) throw new Error(decision.error.message);
    expect(statusFactOf(decision.summary)).toEqual({
      messageType: 'IE009',
      rejectedMessageType: null,
      invalidationDecision: true,
    });
  });

  it('gives an unknown root a null type, which changes no status', () => {
    const parsed = parseNctsMessage('<ncts:CC999C xmlns:ncts="http://ncts.dgtaxud.ec"/>');
    if (!parsed.ok) throw new Error(parsed.error.message);
    const unknown = statusFactOf(parsed.summary);
    expect(unknown.messageType).toBeNull();
    expect(deriveMovementStatus('departure', [IE015, IE928, unknown])).toBe('acknowledged');
  });
});
