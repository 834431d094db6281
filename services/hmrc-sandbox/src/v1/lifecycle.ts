import {
  buildPhase4Message,
  generatePhase4Mrn,
  type Phase4Params,
  type Phase4Root,
} from '@ctc-hub/ncts-testkit';
import type { RuntimeSettings } from '../core/settings.js';
import type { Movement } from '../core/store.js';
import type { Inbound } from '../lifecycle/inbound.js';
import type { NctsSimulator, Outcome } from '../lifecycle/simulator.js';

/**
 * The simulated NCTS for v1 (phase 4) movements: the same timing and markers as the phase-5
 * simulation (lifecycle/simulator.ts), answering with phase-4 messages, which Inbound pushes with
 * the v1 notification payload. Steps run through NctsSimulator.schedule so settle/stop/reset
 * cover them.
 *
 *   CC015B (declaration)
 *     default                          CC028A (MRN allocated), CC029B (release for transit)
 *     LRN starts with REJ*             CC016A (declaration rejection)
 *     LRN starts with CTL              CC028A, CC060A (control decision), CC029B
 *     LRN starts with NRL              CC028A, CC051B (no release)
 *   CC014A (cancellation request)      CC009A: accepted before release, refused after CC029B
 *   CC007A (arrival notification, POST or PUT resubmission)
 *     default                          CC043A (unloading permission)
 *     MRN has REJ* after the country   CC008A (arrival rejection); a PUT with a corrected MRN
 *                                      then gets CC043A
 *   CC044A (unloading remarks)
 *     default                          CC025A (goods released)
 *     MRN has RJU after the country    CC058A (unloading remarks rejection)
 * X-Sandbox-Outcome overrides the markers (release|reject|control|no-release|unload|none).
 * (* REJ is SANDBOX_REJECT_LRN_PREFIX.)
 */

/** What the simulation needs from the trader's message (from parseNctsMessage's summary). */
export interface Phase4Submission {
  /** MesIdeMES19, echoed as CorIdeMES25 in the answers. */
  messageIdentification: string | null;
  goodsItemCount: number | null;
}

const ieOf = (root: Phase4Root) => `IE${root.slice(2, 5)}`;

export class Phase4Simulator {
  constructor(
    private readonly simulator: NctsSimulator,
    private readonly inbound: Inbound,
    private readonly settings: RuntimeSettings,
  ) {}

  private params(movement: Movement, submission: Phase4Submission): Phase4Params {
    return {
      lrn: movement.lrn,
      mrn: movement.mrn,
      eori: movement.movementEori,
      officeOfDeparture: movement.officeOfDeparture,
      officeOfDestination: movement.officeOfDestination,
      correlationIdentifier: submission.messageIdentification,
      goodsItemCount: Math.min(999, Math.max(1, submission.goodsItemCount ?? 1)),
    };
  }

  private send(movement: Movement, root: Phase4Root, submission: Phase4Submission): void {
    const xml = buildPhase4Message(root, this.params(movement, submission));
    this.inbound.deliver(movement, ieOf(root), Buffer.from(xml, 'utf8'));
  }

  private startsWith(value: string | undefined, prefix: string): boolean {
    return value !== undefined && value.toUpperCase().startsWith(prefix.toUpperCase());
  }

  /** MRN marker: the characters right after yy + country, as in the phase-5 simulation. */
  private mrnMarked(mrn: string | undefined, marker: string): boolean {
    return mrn !== undefined && mrn.slice(4).toUpperCase().startsWith(marker.toUpperCase());
  }

  afterDeclaration(movement: Movement, submission: Phase4Submission, requested?: Outcome): void {
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
      this.simulator.schedule(movement, [() => this.send(movement, 'CC016A', submission)]);
      return;
    }
    const steps: (() => void)[] = [
      () => {
        movement.mrn ??= generatePhase4Mrn({
          country: (movement.officeOfDeparture ?? 'GB').slice(0, 2),
        });
        this.send(movement, 'CC028A', submission);
      },
    ];
    if (outcome === 'control') steps.push(() => this.send(movement, 'CC060A', submission));
    steps.push(() =>
      this.send(movement, outcome === 'no-release' ? 'CC051B' : 'CC029B', submission),
    );
    this.simulator.schedule(movement, steps);
  }

  afterCancellationRequest(
    movement: Movement,
    submission: Phase4Submission,
    requested?: Outcome,
  ): void {
    if (requested === 'none') return;
    this.simulator.schedule(movement, [
      () => {
        const released = movement.messages.some((message) => message.messageType === 'IE029');
        const accepted = requested === 'reject' ? false : !released;
        const xml = buildPhase4Message('CC009A', {
          ...this.params(movement, submission),
          cancellationAccepted: accepted,
        });
        this.inbound.deliver(movement, 'IE009', Buffer.from(xml, 'utf8'));
      },
    ]);
  }

  afterArrivalNotification(
    movement: Movement,
    submission: Phase4Submission,
    requested?: Outcome,
  ): void {
    const outcome =
      requested ??
      (this.mrnMarked(movement.mrn, this.settings.rejectLrnPrefix) ? 'reject' : 'unload');
    if (outcome === 'none') return;
    this.simulator.schedule(movement, [
      () => this.send(movement, outcome === 'reject' ? 'CC008A' : 'CC043A', submission),
    ]);
  }

  afterUnloadingRemarks(
    movement: Movement,
    submission: Phase4Submission,
    requested?: Outcome,
  ): void {
    const outcome = requested ?? (this.mrnMarked(movement.mrn, 'RJU') ? 'reject' : 'release');
    if (outcome === 'none') return;
    this.simulator.schedule(movement, [
      () => this.send(movement, outcome === 'reject' ? 'CC058A' : 'CC025A', submission),
    ]);
  }
}
