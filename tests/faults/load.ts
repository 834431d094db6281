// A steady, bounded load: HMRC's NCTS sends messages on movements (through the sandbox, which
// pushes them by PPNS; some over 80,000 bytes so they must be fetched) and a trader's systems
// send declarations through our api with an Idempotency-Key, retrying with the same key when an
// answer does not come back, as a well-behaved client does.
import { randomUUID } from 'node:crypto';
import type { SandboxControls } from '@ctc-hub/hmrc-sandbox';
import { buildMessage, buildMessageOfSize } from '@ctc-hub/ncts-testkit';
import { hex16 } from '@ctc-hub/testing';

type MovementType = 'departure' | 'arrival';

const flows: { type: MovementType; steps: string[]; sizable: string }[] = [
  { type: 'departure', steps: ['IE928', 'IE028', 'IE029'], sizable: 'IE029' },
  { type: 'arrival', steps: ['IE043', 'IE025'], sizable: 'IE043' },
  { type: 'departure', steps: ['IE928', 'IE028', 'IE060', 'IE029'], sizable: 'IE029' },
  { type: 'arrival', steps: ['IE043'], sizable: 'IE043' },
];

interface ActiveFlow {
  type: MovementType;
  movementId: string;
  steps: string[];
  next: number;
  largeStep: string | undefined;
}

export interface Submission {
  lrn: string;
  idempotencyKey: string;
  /** Answers, in order ('error' when the request failed without one). */
  answers: string[];
  /** The api answered 202 (or 200 for a repeat of an accepted key). */
  accepted: boolean;
  submissionId: string | undefined;
  /** The api that answered 202/200. */
  acceptedBy: string | undefined;
}

export interface LoadOptions {
  /** Messages NCTS sends per second (each one PPNS notification). */
  messagesPerSecond: number;
  /** Every n-th movement has one message over 80,000 bytes (body fetched from HMRC). */
  largeEveryMovements: number;
  /** Declarations per second through our api (0 = none). */
  submissionsPerSecond: number;
  /** Movements in progress at once (their messages interleave). */
  concurrentMovements: number;
}

export const defaultLoad: LoadOptions = {
  messagesPerSecond: 20,
  largeEveryMovements: 14,
  submissionsPerSecond: 0.5,
  concurrentMovements: 12,
};

export class LoadGenerator {
  private timer: NodeJS.Timeout | undefined;
  private startedAt = 0;
  private stoppedAt = 0;
  private movementsStarted = 0;
  private active: ActiveFlow[] = [];
  private cursor = 0;
  private readonly inflight = new Set<Promise<void>>();
  injected = 0;
  large = 0;
  injectErrors = 0;
  readonly submissions: Submission[] = [];
  private submissionsStarted = 0;
  private nextApi = 0;

  /**
   * Bodies over 80,000 bytes, built before the load starts: building one takes tens of ms, which
   * in the middle of the run would stall the sandbox (it shares this process) and skew the
   * arrival times its rate limit measures.
   */
  private readonly largeBodies = new Map<string, Buffer[]>();

  constructor(
    private readonly controls: SandboxControls,
    private readonly apis: () => string[],
    private readonly apiKey: string,
    private readonly eori: string,
    readonly options: LoadOptions = defaultLoad,
  ) {
    for (const type of ['IE029', 'IE043'] as const) {
      this.largeBodies.set(
        type,
        [90_000, 97_000, 104_000].map((size) =>
          Buffer.from(buildMessageOfSize(type, size, { eori: this.eori })),
        ),
      );
    }
  }

  start(): void {
    this.startedAt = Date.now();
    this.timer = setInterval(() => this.tick(), 25);
  }

  private newFlow(): ActiveFlow {
    const template = flows[this.movementsStarted % flows.length]!;
    this.movementsStarted += 1;
    const large = this.movementsStarted % this.options.largeEveryMovements === 0;
    return {
      type: template.type,
      movementId: hex16(),
      steps: template.steps,
      next: 0,
      largeStep: large ? template.sizable : undefined,
    };
  }

  private tick(): void {
    const elapsed = (Date.now() - this.startedAt) / 1000;
    const dueMessages = Math.floor(elapsed * this.options.messagesPerSecond) - this.injected;
    for (let i = 0; i < dueMessages; i += 1) this.injectOne();
    const dueSubmissions =
      Math.floor(elapsed * this.options.submissionsPerSecond) - this.submissionsStarted;
    for (let i = 0; i < dueSubmissions; i += 1) this.submitOne();
  }

  private injectOne(): void {
    while (this.active.length < this.options.concurrentMovements) this.active.push(this.newFlow());
    const index = this.cursor++ % this.active.length;
    const flow = this.active[index]!;
    const messageType = flow.steps[flow.next]!;
    const large = flow.largeStep === messageType;
    try {
      const bodies = this.largeBodies.get(messageType)!;
      this.controls.injectMessage(
        flow.type,
        flow.movementId,
        large
          ? { xml: bodies[this.large % bodies.length]!, eori: this.eori }
          : { generate: { messageType: messageType as never }, eori: this.eori },
      );
      if (large) this.large += 1;
    } catch {
      this.injectErrors += 1;
    }
    // Counted even if the sandbox refused, so a refusal cannot make the generator spin.
    this.injected += 1;
    flow.next += 1;
    if (flow.next >= flow.steps.length) this.active[index] = this.newFlow();
  }

  private submitOne(): void {
    this.submissionsStarted += 1;
    const lrn = `FLT${randomUUID().replace(/-/g, '').slice(0, 16).toUpperCase()}`;
    const submission: Submission = {
      lrn,
      idempotencyKey: randomUUID(),
      answers: [],
      accepted: false,
      submissionId: undefined,
      acceptedBy: undefined,
    };
    this.submissions.push(submission);
    const body = buildMessage('IE015', { lrn, eori: this.eori });
    const task = this.send(submission, body).finally(() => this.inflight.delete(task));
    this.inflight.add(task);
  }

  /** POSTs the declaration until it is answered (same Idempotency-Key each time), ≤ 60 s. */
  private async send(submission: Submission, body: string): Promise<void> {
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      const apis = this.apis();
      const api = apis[this.nextApi++ % apis.length]!;
      try {
        const response = await fetch(`${api}/v1/departures`, {
          method: 'POST',
          headers: {
            authorization: `Bearer ${this.apiKey}`,
            'content-type': 'application/xml',
            'idempotency-key': submission.idempotencyKey,
          },
          body,
          signal: AbortSignal.timeout(15_000),
        });
        const text = await response.text();
        submission.answers.push(String(response.status));
        if (response.status === 202 || response.status === 200) {
          submission.accepted = true;
          submission.acceptedBy = api;
          submission.submissionId = (JSON.parse(text) as { submissionId: string }).submissionId;
          return;
        }
        if (response.status < 500 && response.status !== 429) return; // refused: not accepted
      } catch {
        submission.answers.push('error');
      }
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  }

  /** Stops generating; resolves when every declaration has had its final answer. */
  async stop(): Promise<void> {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    this.stoppedAt = Date.now();
    while (this.inflight.size > 0) await Promise.all([...this.inflight]);
  }

  /** Figures for the report. */
  figures() {
    const seconds = ((this.stoppedAt || Date.now()) - this.startedAt) / 1000;
    const accepted = this.submissions.filter((submission) => submission.accepted).length;
    return {
      seconds: Number(seconds.toFixed(1)),
      messagesInjected: this.injected - this.injectErrors,
      messagesPerSecondOffered: this.options.messagesPerSecond,
      messagesPerSecondHeld: Number(((this.injected - this.injectErrors) / seconds).toFixed(1)),
      largeMessages: this.large,
      injectErrors: this.injectErrors,
      submissionsSent: this.submissions.length,
      submissionsAccepted: accepted,
      submissionsRetried: this.submissions.filter((submission) => submission.answers.length > 1)
        .length,
    };
  }
}
