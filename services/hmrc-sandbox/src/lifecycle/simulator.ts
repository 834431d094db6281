import {
  buildMessage,
  generateMrn,
  type GeneratedMessageType,
  type MessageParams,
} from '@ctc-hub/ncts-testkit';
import type { Logger } from '@ctc-hub/telemetry';
import type { RuntimeSettings } from '../core/settings.js';
import type { Movement, MovementStore } from '../core/store.js';
import type { XmlInfo } from '../xml/info.js';
import type { Inbound } from './inbound.js';

/**
 * The simulated NCTS: after a trader's submission it answers, one message every nctsStepMs,
 * each pushed through PPNS like a real answer. Which path a movement takes is chosen by, in
 * order: the `X-Sandbox-Outcome` header of the submission, then markers in the LRN/MRN:
 *
 *   IE015 (departure declaration)
 *     default                       IE928, IE028 (MRN allocated), IE029 (released)
 *     LRN starts with REJ*          IE056 rejection (businessRejectionType 015); the LRN is free again
 *     LRN starts with CTL           IE928, IE028, IE060 (control decision), IE029
 *     LRN starts with NRL           IE928, IE028, IE051 (no release)
 *     outcome: release|reject|control|no-release|none
 *   IE013 → IE004 (amendment accepted); outcome reject → IE056 (013)
 *   IE014 → IE009: invalidation accepted before release (the LRN is free again), refused after IE029
 *   IE170 → no answer
 *   IE007 (arrival notification)
 *     default                       IE043 (unloading permission)
 *     MRN has REJ* after the country IE057 rejection (007)
 *     outcome: unload|reject|none
 *   IE044 (unloading remarks)
 *     default                       IE025 (goods released)
 *     MRN has RJU after the country IE057 rejection (044)
 *     outcome: release|reject|none
 * (* REJ is SANDBOX_REJECT_LRN_PREFIX.)
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

export class NctsSimulator {
  private readonly timers = new Set<NodeJS.Timeout>();

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
  schedule(movement: Movement, steps: (() => boolean | void)[]): void {
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
    this.inbound.deliver(movement, type, Buffer.from(buildMessage(type, params)));
  }

  private startsWith(value: string | undefined, prefix: string): boolean {
    return value !== undefined && value.toUpperCase().startsWith(prefix.toUpperCase());
  }

  /** MRN marker: the characters right after yy + country. */
  private mrnMarked(mrn: string | undefined, marker: string): boolean {
    return mrn !== undefined && mrn.slice(4).toUpperCase().startsWith(marker.toUpperCase());
  }

  afterDeclaration(movement: Movement, info: XmlInfo, requested: Outcome | undefined): void {
    const lrn = movement.lrn;
    const outcome: Outcome =
      requested ??
      (this.startsWith(lrn, this.settings.rejectLrnPrefix)
        ? 'reject'
        : this.startsWith(lrn, 'CTL')
          ? 'control'
          : this.startsWith(lrn, 'NRL')
            ? 'no-release'
            : 'release');
    if (outcome === 'none') return;
    if (outcome === 'reject') {
      this.schedule(movement, [
        () => {
          this.send(
            movement,
            'IE056',
            this.params(movement, info, { rejection: { businessRejectionType: '015' } }),
          );
          if (lrn !== undefined) this.store.releaseLrn(movement.enrollmentEori, lrn);
        },
      ]);
      return;
    }
    const steps: (() => boolean | void)[] = [
      () => this.send(movement, 'IE928', this.params(movement, info)),
      () => {
        movement.mrn ??= generateMrn({ country: (movement.officeOfDeparture ?? 'GB').slice(0, 2) });
        this.send(movement, 'IE028', this.params(movement, info));
      },
    ];
    if (outcome === 'control')
      steps.push(() => this.send(movement, 'IE060', this.params(movement, info)));
    if (outcome === 'no-release')
      steps.push(() => this.send(movement, 'IE051', this.params(movement, info)));
    else steps.push(() => this.send(movement, 'IE029', this.params(movement, info)));
    this.schedule(movement, steps);
  }

  afterAmendment(movement: Movement, info: XmlInfo, requested: Outcome | undefined): void {
    if (requested === 'none') return;
    this.schedule(movement, [
      () =>
        requested === 'reject'
          ? this.send(
              movement,
              'IE056',
              this.params(movement, info, { rejection: { businessRejectionType: '013' } }),
            )
          : this.send(movement, 'IE004', this.params(movement, info)),
    ]);
  }

  afterInvalidationRequest(
    movement: Movement,
    info: XmlInfo,
    requested: Outcome | undefined,
  ): void {
    if (requested === 'none') return;
    this.schedule(movement, [
      () => {
        const released = movement.messages.some((message) => message.messageType === 'IE029');
        const accepted = requested === 'reject' ? false : !released;
        this.send(
          movement,
          'IE009',
          this.params(movement, info, { invalidationDecision: accepted }),
        );
        if (accepted && movement.lrn !== undefined)
          this.store.releaseLrn(movement.enrollmentEori, movement.lrn);
      },
    ]);
  }

  afterArrivalNotification(
    movement: Movement,
    info: XmlInfo,
    requested: Outcome | undefined,
  ): void {
    const outcome =
      requested ??
      (this.mrnMarked(movement.mrn, this.settings.rejectLrnPrefix) ? 'reject' : 'unload');
    if (outcome === 'none') return;
    this.schedule(movement, [
      () =>
        outcome === 'reject'
          ? this.send(
              movement,
              'IE057',
              this.params(movement, info, { rejection: { businessRejectionType: '007' } }),
            )
          : this.send(movement, 'IE043', this.params(movement, info, { goodsItemCount: 2 })),
    ]);
  }

  afterUnloadingRemarks(movement: Movement, info: XmlInfo, requested: Outcome | undefined): void {
    const outcome = requested ?? (this.mrnMarked(movement.mrn, 'RJU') ? 'reject' : 'release');
    if (outcome === 'none') return;
    this.schedule(movement, [
      () =>
        outcome === 'reject'
          ? this.send(
              movement,
              'IE057',
              this.params(movement, info, { rejection: { businessRejectionType: '044' } }),
            )
          : this.send(movement, 'IE025', this.params(movement, info, { goodsItemCount: 2 })),
    ]);
  }

  /** Pending NCTS answers (for tests that wait for the simulation to settle). */
  get pending(): number {
    return this.timers.size;
  }

  stop(): void {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
  }
}
