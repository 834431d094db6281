import { randomUUID } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import { formatPpnsDateTime, signPayload, type PpnsStatus } from '@ctc-hub/ppns';
import type { Logger } from '@ctc-hub/telemetry';
import type { FaultState, PushFaults } from '../faults/faults.js';
import type { RuntimeSettings } from '../core/settings.js';
import type { SandboxStats } from '../core/stats.js';
import type { CallbackClient } from './http-post.js';

/**
 * The PPNS box and its push delivery (reference §1.2-1.5). A notification is stored, then
 * POSTed to the callback at once; only HTTP 200 counts as delivered (→ ACKNOWLEDGED). Anything
 * else is retried every pushRetryIntervalMs until pushRetryWindowMs after creation, then the
 * notification becomes FAILED. Pull (GET …/notifications) sees every stored notification.
 */

export interface Notification {
  notificationId: string;
  boxId: string;
  messageContentType: 'application/json';
  /** The CTC payload as a JSON string: PPNS carries it escaped, inside a string. */
  message: string;
  status: PpnsStatus;
  createdAt: number;
  createdDateTime: string;
  /** The exact bytes pushed (status PENDING at push time) and their signature. */
  pushBody: string;
  signature: string;
  attempts: number;
  lastResult: string | undefined;
}

/** The notification as PPNS returns it when pulled (no internal fields). */
export function notificationView(notification: Notification): Record<string, unknown> {
  return {
    notificationId: notification.notificationId,
    boxId: notification.boxId,
    messageContentType: notification.messageContentType,
    message: notification.message,
    status: notification.status,
    createdDateTime: notification.createdDateTime,
  };
}

const unlimitedListeners = (controller: AbortController): AbortController => {
  setMaxListeners(0, controller.signal);
  return controller;
};

export class PushService {
  private readonly notifications = new Map<string, Notification>();
  /** Oldest first, as PPNS sorts by createdDateTime. */
  private readonly order: Notification[] = [];
  private readonly timers = new Set<NodeJS.Timeout>();
  /** Stops every push in flight on stop(); up to pushConcurrency of them listen at once. */
  private readonly controller = unlimitedListeners(new AbortController());
  private running = 0;
  private readonly queue: (() => void)[] = [];
  private inFlight = 0;
  private lastCreated = 0;

  constructor(
    private readonly settings: RuntimeSettings,
    private readonly faults: FaultState,
    private readonly stats: SandboxStats,
    private readonly logger: Logger,
    private readonly client: CallbackClient,
  ) {}

  /**
   * Stores a notification for `payload` in `boxId` and starts pushing it. Returns undefined
   * when a "lose" fault swallowed it (as if it never reached PPNS).
   */
  notify(boxId: string, payload: Record<string, unknown>): Notification | undefined {
    const faults = this.faults.decidePush();
    if (faults.lose) {
      this.stats.push('lost');
      return undefined;
    }
    // Strictly increasing creation times keep pull order and fromDate paging well defined,
    // unless a test pins them to exercise paging through equal timestamps (insertion order).
    const createdAt = this.settings.pinnedCreatedAt ?? Math.max(Date.now(), this.lastCreated + 1);
    this.lastCreated = Math.max(this.lastCreated, createdAt);
    const message = JSON.stringify(payload);
    const createdDateTime = formatPpnsDateTime(new Date(createdAt));
    const notificationId = randomUUID();
    const pushBody = JSON.stringify({
      notificationId,
      boxId,
      messageContentType: 'application/json',
      message,
      status: 'PENDING',
      createdDateTime,
    });
    const notification: Notification = {
      notificationId,
      boxId,
      messageContentType: 'application/json',
      message,
      status: 'PENDING',
      createdAt,
      createdDateTime,
      pushBody,
      signature: signPayload(this.settings.pushSecret, pushBody),
      attempts: 0,
      lastResult: undefined,
    };
    this.notifications.set(notificationId, notification);
    this.order.push(notification);
    this.stats.push('notifications');
    this.startDelivery(notification, faults);
    return notification;
  }

  private startDelivery(notification: Notification, faults: PushFaults): void {
    if (faults.drop) {
      this.stats.push('dropped');
      return;
    }
    const first = async () => {
      await this.attempt(notification, faults.latencyMs, true);
      if (faults.duplicateDelayMs !== undefined) {
        this.stats.push('duplicated');
        this.later(faults.duplicateDelayMs, () =>
          this.attempt(notification, faults.latencyMs, false),
        );
      }
    };
    if (faults.holdBackMs !== undefined) {
      this.stats.push('reordered');
      this.later(faults.holdBackMs, first);
    } else {
      void first();
    }
  }

  private later(delayMs: number, action: () => Promise<void> | void): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      void action();
    }, delayMs);
    timer.unref();
    this.timers.add(timer);
  }

  /** One POST to the callback. `counts` = false for an injected duplicate (state unchanged). */
  private async attempt(
    notification: Notification,
    latencyMs: number,
    counts: boolean,
  ): Promise<void> {
    if (this.controller.signal.aborted) return;
    if (counts && notification.status !== 'PENDING') return;
    // Counted before the first await, so `idle` never misses an attempt about to start.
    this.inFlight += 1;
    let delivered = false;
    try {
      await this.slot();
      if (latencyMs > 0) await new Promise((resolve) => setTimeout(resolve, latencyMs));
      notification.attempts += 1;
      this.stats.push('attempts');
      const status = await this.client.post(
        this.settings.callbackUrl,
        notification.pushBody,
        { 'content-type': 'application/json', 'x-hub-signature': notification.signature },
        this.settings.pushTimeoutMs,
        this.controller.signal,
      );
      delivered = status === 200;
      notification.lastResult = `HTTP ${status}`;
    } catch (error) {
      notification.lastResult =
        (error as Error).name === 'TimeoutError' ? 'timeout' : (error as Error).message;
    } finally {
      this.release();
    }
    try {
      if (delivered) {
        this.stats.push('delivered');
        if (counts && notification.status === 'PENDING') notification.status = 'ACKNOWLEDGED';
        return;
      }
      this.stats.push('failedAttempts');
      this.logger.debug(
        { notificationId: notification.notificationId, result: notification.lastResult },
        'push not acknowledged with 200',
      );
      if (counts) this.scheduleRetry(notification);
    } finally {
      this.inFlight -= 1;
    }
  }

  private scheduleRetry(notification: Notification): void {
    if (this.controller.signal.aborted || notification.status !== 'PENDING') return;
    this.later(this.settings.pushRetryIntervalMs, () => {
      if (notification.status !== 'PENDING') return;
      // PPNS's retry job marks a notification FAILED once it is older than the retry window.
      if (Date.now() - notification.createdAt >= this.settings.pushRetryWindowMs) {
        notification.status = 'FAILED';
        this.stats.push('notificationsFailed');
        return;
      }
      return this.attempt(notification, 0, true);
    });
  }

  private async slot(): Promise<void> {
    if (this.running < this.settings.pushConcurrency) {
      this.running += 1;
      return;
    }
    await new Promise<void>((resolve) => this.queue.push(resolve));
  }

  private release(): void {
    const next = this.queue.shift();
    if (next === undefined) this.running -= 1;
    else next();
  }

  /** Notifications of a box, oldest first. */
  list(boxId: string): Notification[] {
    return this.order.filter((notification) => notification.boxId === boxId);
  }

  all(): Notification[] {
    return [...this.order];
  }

  get(notificationId: string): Notification | undefined {
    return this.notifications.get(notificationId);
  }

  /** PUT …/acknowledge: unknown ids are ignored, as PPNS's updateMany does. */
  acknowledge(boxId: string, notificationIds: readonly string[]): void {
    for (const id of notificationIds) {
      const notification = this.notifications.get(id.toLowerCase());
      if (notification !== undefined && notification.boxId === boxId)
        notification.status = 'ACKNOWLEDGED';
    }
  }

  /** True when nothing is in flight or scheduled (retries, held-back or duplicate pushes). */
  get idle(): boolean {
    return this.inFlight === 0 && this.timers.size === 0 && this.queue.length === 0;
  }

  reset(): void {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    this.notifications.clear();
    this.order.length = 0;
  }

  stop(): void {
    this.controller.abort();
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    for (const waiting of this.queue.splice(0)) waiting();
  }
}
