import type { Movement, MovementStore, StoredMessage } from '../core/store.js';
import {
  messageReceivedPayload,
  submissionPayload,
  v1MessagePayload,
  type SubmissionResponse,
} from '../ppns/payloads.js';
import type { PushService } from '../ppns/push.js';

/**
 * How a message from NCTS reaches the trader: stored on the movement (status Received), then
 * announced through PPNS when the movement has a box (HMRC pushes nothing otherwise).
 */
export class Inbound {
  constructor(
    private readonly store: MovementStore,
    private readonly push: PushService,
  ) {}

  deliver(
    movement: Movement,
    messageType: string,
    body: Buffer,
    options: { push?: boolean } = {},
  ): { message: StoredMessage; notificationId: string | undefined } {
    const message = this.store.addMessage(movement, { messageType, status: 'Received', body });
    let notificationId: string | undefined;
    if (options.push !== false && movement.boxId !== undefined) {
      // A movement keeps the notification format of the API version that created it.
      const payload =
        movement.apiVersion === '1.0'
          ? v1MessagePayload(movement, message)
          : messageReceivedPayload(movement, message);
      notificationId = this.push.notify(movement.boxId, payload)?.notificationId;
    }
    return { message, notificationId };
  }

  /** SUBMISSION_NOTIFICATION for a large-message upload that succeeded or failed. */
  submissionOutcome(
    movement: Movement,
    message: StoredMessage,
    response: SubmissionResponse,
  ): void {
    if (movement.boxId !== undefined)
      this.push.notify(movement.boxId, submissionPayload(movement, message, response));
  }
}
