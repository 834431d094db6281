import {
  buildMessage,
  generateMrn,
  type FunctionalErrorParams,
  type GeneratedMessageType,
  type MessageParams,
} from '@ctc-hub/ncts-testkit';
import type { Logger } from '@ctc-hub/telemetry';
import type { RuntimeSettings } from '../core/settings.js';
import type { Movement, MovementStore } from '../core/store.js';
import { readFeatures, type SubmissionFeatures } from '../scenarios/features.js';
import type { OfficerAction, OfficerDecisions } from '../scenarios/officer.js';
import {
  guaranteeErrors,
  isNormalArrival,
  isPreLodged,
  locationErrors,
  reportsMajorDiscrepancies,
  unloadingErrors,
} from '../scenarios/rules.js';
import type { XmlInfo } from '../xml/info.js';
import type { Inbound } from './inbound.js';

/**
 * The simulated NCTS: after a trader's submission it answers, one message every nctsStepMs,
 * each pushed through PPNS like a real answer. The path a movement takes follows from what was
 * submitted, as at HMRC's Trader Test (the scenarios of HMRC's phase 5 trader test pack, see the
 * README's table): guarantee, additional declaration type, location of goods, the arrival's
 * procedure, the unloading remarks, the state of the movement when a follow-up arrives; plus the
 * officer's manual decisions (scenarios/officer.ts). The older steering stays for existing
 * users: the `X-Sandbox-Outcome` header and the LRN/MRN markers (REJ, CTL, NRL, RJU).
 *
 *   IE015  IE928, IE028 (MRN), then the office's decision RELEASE_STEPS later: IE029
 *          guarantee unusable         IE928, IE028, IE055, IE051
 *          pre-lodged (type D)        IE928, then waits for IE170
 *          unknown UN/LOCODE …        IE056 (015)
 *          officer control            … IE060, then IE029 (satisfactory) or IE051
 *   IE170  pre-lodged: IE028, then release as above; location of goods wrong: IE056 (170)
 *   IE013  before release: IE004 (release re-decided after it); after: IE056 (013)
 *   IE014  before release: IE009 (accepted); after release: IE056 (014)
 *   IE007  IE043; normal procedure: IE025; its departure (same MRN) not released: IE057 (007)
 *   IE044  IE025 (departure: IE045); no state of seals: IE057 (044); seals broken: IE025, and
 *          the departure gets IE019, then IE045 (resolved) or IE035 (confirmed by the officer)
 */

export type Outcome = 'release' | 'reject' | 'control' | 'no-release' | 'unload' | 'none';
export const outcomes: readonly Outcome[] = [
  'release',
  'reject',
  'control',
  'no-release',
  'unload',
  'none',
];

/** Steps between the MRN (or the last amendment) and the office's release decision. */
export const releaseSteps = 5;

type Stage =
  | 'lodged'
  | 'pre-lodged'
  | 'accepted'
  | 'released'
  | 'not-released'
  | 'invalidated'
  | 'rejected'
  | 'unloading'
  | 'goods-released';

interface NctsState {
  stage: Stage;
  /** Bumped to cancel a pending release decision (amendment, invalidation). */
  generation: number;
  officer: OfficerDecisions;
  guaranteeErrors: FunctionalErrorParams[];
  info: XmlInfo;
  /** Arrivals: the departure with the same MRN, when the sandbox holds it. */
  departureId?: string;
  /** Departures: an IE019 awaits the officer's decision. */
  discrepanciesPending?: boolean;
}

type Step = () => boolean | void;

export class OfficerActionError extends Error {}

export class NctsSimulator {
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly states = new Map<string, NctsState>();

  constructor(
    private readonly inbound: Inbound,
    private readonly store: MovementStore,
    private readonly settings: RuntimeSettings,
    private readonly logger: Logger,
  ) {}

  /**
   * Runs `steps` one per nctsStepMs; a step returning false ends the sequence. Shared with the
   * phase-4 simulation (v1/lifecycle.ts) so `pending`, stop and reset cover both.
   */
  schedule(movement: Movement, steps: Step[]): void {
    if (!this.settings.lifecycleEnabled || steps.length === 0) return;
    const run = (index: number) => {
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        // The movement may have been removed by a reset meanwhile.
        if (!this.store.holds(movement)) return;
        try {
          if (steps[index]!() === false) return;
        } catch (error) {
          this.logger.error({ err: error, movementId: movement.id }, 'NCTS simulation step failed');
          return;
        }
        if (index + 1 < steps.length) run(index + 1);
      }, this.settings.nctsStepMs);
      timer.unref();
      this.timers.add(timer);
    };
    run(0);
  }

  private params(movement: Movement, info: XmlInfo, extra: MessageParams = {}): MessageParams {
    return {
      mrn: movement.mrn,
      lrn: movement.lrn,
      eori: movement.movementEori,
      officeOfDeparture: movement.officeOfDeparture,
      officeOfDestination: movement.officeOfDestination,
      correlationIdentifier: info.messageIdentification,
      goodsItemCount: Math.min(1999, Math.max(1, info.goodsItemCount)),
      ...extra,
    };
  }

  private send(movement: Movement, type: GeneratedMessageType, params: MessageParams): void {
    this.deliver(movement, type, buildMessage(type, params));
  }

  /** A movement of API 3.0 gets phase 6 messages (the generated ones are valid under both). */
  private deliver(movement: Movement, type: string, xml: string): void {
    const body =
      movement.phase === 'phase6' ? xml.replace(/PhaseID="NCTS5\.\d"/, 'PhaseID="NCTS6"') : xml;
    this.inbound.deliver(movement, type, Buffer.from(body));
  }

  private reject(
    movement: Movement,
    info: XmlInfo,
    businessRejectionType: string,
    functionalErrors?: FunctionalErrorParams[],
  ): void {
    const type = movement.type === 'departure' ? 'IE056' : 'IE057';
    this.send(
      movement,
      type,
      this.params(movement, info, {
        rejection: {
          businessRejectionType,
          ...(functionalErrors !== undefined && functionalErrors.length > 0
            ? { rejectionCode: '12', functionalErrors }
            : {}),
        },
      }),
    );
  }

  private startsWith(value: string | undefined, prefix: string): boolean {
    return value !== undefined && value.toUpperCase().startsWith(prefix.toUpperCase());
  }

  /** MRN marker: the characters right after yy + country. */
  private mrnMarked(mrn: string | undefined, marker: string): boolean {
    return mrn !== undefined && mrn.slice(4).toUpperCase().startsWith(marker.toUpperCase());
  }

  private state(movement: Movement, info: XmlInfo): NctsState {
    let state = this.states.get(movement.id);
    if (state === undefined) {
      state = { stage: 'lodged', generation: 0, officer: {}, guaranteeErrors: [], info };
      this.states.set(movement.id, state);
    }
    return state;
  }

  private allocateMrn(movement: Movement): void {
    movement.mrn ??= generateMrn({ country: (movement.officeOfDeparture ?? 'GB').slice(0, 2) });
  }

  private freeLrn(movement: Movement): void {
    if (movement.lrn !== undefined) this.store.releaseLrn(movement.enrollmentEori, movement.lrn);
  }

  // ---- departures ------------------------------------------------------------------------

  afterDeclaration(
    movement: Movement,
    info: XmlInfo,
    requested: Outcome | undefined,
    xml?: Buffer,
  ): void {
    const lrn = movement.lrn;
    const marked: Outcome | undefined = this.startsWith(lrn, this.settings.rejectLrnPrefix)
      ? 'reject'
      : this.startsWith(lrn, 'CTL')
        ? 'control'
        : this.startsWith(lrn, 'NRL')
          ? 'no-release'
          : undefined;
    const outcome = requested ?? marked;
    if (outcome === 'none') return;
    const state = this.state(movement, info);
    const features: SubmissionFeatures = readFeatures(xml ?? '');
    if (outcome === 'reject') return this.rejectDeclaration(movement, state, info, []);
    if (outcome === undefined) {
      const invalid = locationErrors(features.location, 'CC015C');
      if (invalid.length > 0) return this.rejectDeclaration(movement, state, info, invalid);
      state.guaranteeErrors = guaranteeErrors(features, movement.officeOfDeparture);
    }
    if (outcome === 'control') state.officer.control = 'satisfactory';
    const steps: Step[] = [() => this.send(movement, 'IE928', this.params(movement, info))];
    if (outcome === undefined && isPreLodged(features)) {
      state.stage = 'pre-lodged';
      this.schedule(movement, steps);
      return;
    }
    steps.push(() => {
      if (state.stage === 'invalidated') return false;
      this.allocateMrn(movement);
      this.send(movement, 'IE028', this.params(movement, info));
      state.stage = 'accepted';
      if (outcome === 'no-release') {
        state.stage = 'not-released';
        this.schedule(movement, [() => this.send(movement, 'IE051', this.params(movement, info))]);
      } else if (outcome === 'control' || outcome === 'release') {
        this.decide(movement, state, 1);
      } else {
        this.decide(movement, state);
      }
      return true;
    });
    this.schedule(movement, steps);
  }

  private rejectDeclaration(
    movement: Movement,
    state: NctsState,
    info: XmlInfo,
    errors: FunctionalErrorParams[],
  ): void {
    state.stage = 'rejected';
    this.schedule(movement, [
      () => {
        this.reject(movement, info, '015', errors);
        this.freeLrn(movement);
      },
    ]);
  }

  /** The office's decision after the MRN: guarantee check, then control or release. */
  private decide(movement: Movement, state: NctsState, afterSteps = releaseSteps): void {
    const info = state.info;
    if (state.guaranteeErrors.length > 0) {
      state.stage = 'not-released';
      this.schedule(movement, [
        () =>
          this.send(
            movement,
            'IE055',
            this.params(movement, info, {
              grn: state.guaranteeErrors[0]?.originalAttributeValue,
            }),
          ),
        () => this.send(movement, 'IE051', this.params(movement, info)),
      ]);
      return;
    }
    const generation = ++state.generation;
    const current = () => generation === state.generation && state.stage === 'accepted';
    const steps: Step[] = [];
    for (let wait = 1; wait < afterSteps; wait += 1) steps.push(() => current());
    steps.push(() => {
      if (!current() || state.officer.hold) return false;
      if (state.officer.control === undefined) return this.release(movement, state);
      this.send(movement, 'IE060', this.params(movement, info, { controlNotificationType: '2' }));
      return true;
    });
    steps.push(() => {
      if (!current()) return false;
      if (state.officer.control === 'unsatisfactory') {
        state.stage = 'not-released';
        this.send(movement, 'IE051', this.params(movement, info));
        return false;
      }
      return this.release(movement, state);
    });
    this.schedule(movement, steps);
  }

  /** IE029; then an invalidation the officer decided meanwhile. Ends the step sequence. */
  private release(movement: Movement, state: NctsState): false {
    state.stage = 'released';
    this.send(movement, 'IE029', this.params(movement, state.info));
    if (state.officer.invalidate) this.invalidateByCustoms(movement, state);
    return false;
  }

  private invalidateByCustoms(movement: Movement, state: NctsState): void {
    state.stage = 'invalidated';
    this.schedule(movement, [
      () => {
        const ie009 = buildMessage('IE009', this.params(movement, state.info)).replace(
          '<initiatedByCustoms>0</initiatedByCustoms>',
          '<initiatedByCustoms>1</initiatedByCustoms>',
        );
        this.deliver(movement, 'IE009', ie009);
      },
    ]);
  }

  afterAmendment(
    movement: Movement,
    info: XmlInfo,
    requested: Outcome | undefined,
    xml?: Buffer,
  ): void {
    if (requested === 'none') return;
    const state = this.state(movement, info);
    const open = state.stage === 'pre-lodged' || state.stage === 'accepted';
    if (requested === 'reject' || !open) {
      this.schedule(movement, [() => this.reject(movement, info, '013')]);
      return;
    }
    if (xml !== undefined) {
      const features = readFeatures(xml);
      if (features.guarantees.length > 0)
        state.guaranteeErrors = guaranteeErrors(features, movement.officeOfDeparture);
    }
    // The amendment re-opens the office's decision: a pending release waits for the IE004,
    // and a hold the office put on the release (waiting for this amendment) ends.
    state.generation += 1;
    state.officer.hold = false;
    this.schedule(movement, [
      () => {
        this.send(movement, 'IE004', this.params(movement, info));
        if (state.stage === 'accepted') this.decide(movement, state);
      },
    ]);
  }

  afterInvalidationRequest(
    movement: Movement,
    info: XmlInfo,
    requested: Outcome | undefined,
  ): void {
    if (requested === 'none') return;
    const state = this.state(movement, info);
    if (requested === 'reject') {
      this.schedule(movement, [
        () =>
          this.send(
            movement,
            'IE009',
            this.params(movement, info, { invalidationDecision: false }),
          ),
      ]);
      return;
    }
    const released = movement.messages.some((message) => message.messageType === 'IE029');
    if (released || !['lodged', 'pre-lodged', 'accepted'].includes(state.stage)) {
      // After release the holder can no longer invalidate: NCTS rejects the request.
      this.schedule(movement, [() => this.reject(movement, info, '014')]);
      return;
    }
    state.generation += 1;
    state.stage = 'invalidated';
    this.schedule(movement, [
      () => {
        this.send(movement, 'IE009', this.params(movement, info, { invalidationDecision: true }));
        this.freeLrn(movement);
      },
    ]);
  }

  afterPresentation(
    movement: Movement,
    info: XmlInfo,
    requested: Outcome | undefined,
    xml?: Buffer,
  ): void {
    if (requested === 'none') return;
    const state = this.state(movement, info);
    const features = readFeatures(xml ?? '');
    const errors = locationErrors(features.location, 'CC170C');
    if (requested === 'reject' || state.stage !== 'pre-lodged' || errors.length > 0) {
      this.schedule(movement, [() => this.reject(movement, info, '170', errors)]);
      return;
    }
    state.stage = 'lodged';
    this.schedule(movement, [
      () => {
        if (state.stage !== 'lodged') return false;
        this.allocateMrn(movement);
        this.send(movement, 'IE028', this.params(movement, info));
        state.stage = 'accepted';
        this.decide(movement, state);
        return true;
      },
    ]);
  }

  /** A manual decision of the office (HMRC's Trader Test plays these by hand). */
  officer(movement: Movement, action: OfficerAction): void {
    if (movement.type !== 'departure' || movement.apiVersion === '1.0')
      throw new OfficerActionError('officer decisions apply to v2 departures');
    const state = this.states.get(movement.id);
    if (state === undefined) throw new OfficerActionError('the movement has no declaration');
    const open = ['lodged', 'pre-lodged', 'accepted'].includes(state.stage);
    switch (action) {
      case 'control-satisfactory':
      case 'control-unsatisfactory':
        if (!open) throw new OfficerActionError(`too late for a control: ${state.stage}`);
        state.officer.control =
          action === 'control-satisfactory' ? 'satisfactory' : 'unsatisfactory';
        return;
      case 'hold':
        if (!open) throw new OfficerActionError(`nothing to hold: ${state.stage}`);
        state.officer.hold = true;
        return;
      case 'release':
        state.officer.hold = false;
        if (state.stage === 'accepted') this.decide(movement, state, 1);
        return;
      case 'invalidate':
        if (state.stage === 'released') return this.invalidateByCustoms(movement, state);
        if (!open) throw new OfficerActionError(`cannot invalidate: ${state.stage}`);
        state.officer.invalidate = true;
        return;
      case 'discrepancies-resolved':
      case 'discrepancies-confirmed':
        state.officer.discrepancies =
          action === 'discrepancies-resolved' ? 'resolved' : 'confirmed';
        if (state.discrepanciesPending) this.settleDiscrepancies(movement, state);
        return;
    }
  }

  /** Officer decisions recorded for a movement (admin view). */
  stateOf(movementId: string): { stage: string; officer: OfficerDecisions } | undefined {
    const state = this.states.get(movementId);
    return state === undefined ? undefined : { stage: state.stage, officer: { ...state.officer } };
  }

  // ---- arrivals --------------------------------------------------------------------------

  private departureFor(mrn: string | undefined): Movement | undefined {
    if (mrn === undefined) return undefined;
    return this.store
      .all()
      .find(
        (candidate) =>
          candidate.type === 'departure' && candidate.apiVersion !== '1.0' && candidate.mrn === mrn,
      );
  }

  afterArrivalNotification(
    movement: Movement,
    info: XmlInfo,
    requested: Outcome | undefined,
    xml?: Buffer,
  ): void {
    const marked = this.mrnMarked(movement.mrn, this.settings.rejectLrnPrefix)
      ? 'reject'
      : undefined;
    const outcome = requested ?? marked;
    if (outcome === 'none') return;
    const state = this.state(movement, info);
    state.info = info;
    const departure = this.departureFor(movement.mrn);
    state.departureId = departure?.id;
    const features = readFeatures(xml ?? '');
    const departureState = departure === undefined ? undefined : this.states.get(departure.id);
    // The arrival of goods NCTS never released (cancelled, refused, still waiting) is rejected.
    const notReleased =
      departure !== undefined &&
      departureState !== undefined &&
      departureState.stage !== 'released';
    if (outcome === 'reject' || (outcome === undefined && notReleased)) {
      state.stage = 'rejected';
      this.schedule(movement, [() => this.reject(movement, info, '007')]);
      return;
    }
    if (outcome === undefined && isNormalArrival(features)) {
      this.schedule(movement, [() => this.releaseGoods(movement, state, info, false)]);
      return;
    }
    state.stage = 'unloading';
    this.schedule(movement, [
      () => this.send(movement, 'IE043', this.params(movement, info, { goodsItemCount: 2 })),
    ]);
  }

  afterUnloadingRemarks(
    movement: Movement,
    info: XmlInfo,
    requested: Outcome | undefined,
    xml?: Buffer,
  ): void {
    const marked = this.mrnMarked(movement.mrn, 'RJU') ? 'reject' : undefined;
    const outcome = requested ?? marked;
    if (outcome === 'none') return;
    const state = this.state(movement, info);
    const features = readFeatures(xml ?? '');
    const errors = outcome === undefined ? unloadingErrors(features) : [];
    if (outcome === 'reject' || errors.length > 0) {
      this.schedule(movement, [() => this.reject(movement, info, '044', errors)]);
      return;
    }
    const discrepancies = outcome === undefined && reportsMajorDiscrepancies(features);
    this.schedule(movement, [() => this.releaseGoods(movement, state, info, discrepancies)]);
  }

  /** IE025 at destination; the departure is then written off, or gets the discrepancies. */
  private releaseGoods(
    movement: Movement,
    state: NctsState,
    info: XmlInfo,
    discrepancies: boolean,
  ): void {
    state.stage = 'goods-released';
    this.send(movement, 'IE025', this.params(movement, info, { goodsItemCount: 2 }));
    const departure =
      state.departureId === undefined ? undefined : this.store.get(state.departureId);
    const departureState = departure === undefined ? undefined : this.states.get(departure.id);
    if (departure === undefined || departureState === undefined) return;
    if (!discrepancies) {
      this.schedule(departure, [
        () => this.send(departure, 'IE045', this.params(departure, departureState.info)),
      ]);
      return;
    }
    this.schedule(departure, [
      () => {
        this.send(departure, 'IE019', this.params(departure, departureState.info));
        departureState.discrepanciesPending = true;
        // Unless the officer already confirmed them, discrepancies are resolved.
        if (departureState.officer.discrepancies === undefined)
          departureState.officer.discrepancies = 'resolved';
        this.settleDiscrepancies(departure, departureState);
      },
    ]);
  }

  private settleDiscrepancies(departure: Movement, state: NctsState): void {
    state.discrepanciesPending = false;
    const type = state.officer.discrepancies === 'confirmed' ? 'IE035' : 'IE045';
    this.schedule(departure, [
      () => this.send(departure, type, this.params(departure, state.info)),
    ]);
  }

  /** Pending NCTS answers (for tests that wait for the simulation to settle). */
  get pending(): number {
    return this.timers.size;
  }

  stop(): void {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    this.states.clear();
  }
}
