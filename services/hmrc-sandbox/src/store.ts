import { randomBytes } from 'node:crypto';

/** In-memory CTC state: movements and their messages, as HMRC's transit-movements keeps them. */

export type MovementType = 'departure' | 'arrival';
export type Collection = 'departures' | 'arrivals';
export type MessageStatus = 'Received' | 'Pending' | 'Processing' | 'Success' | 'Failed';

export const collectionOf = (type: MovementType): Collection =>
  type === 'departure' ? 'departures' : 'arrivals';
export const movementTypeOf = (collection: Collection): MovementType =>
  collection === 'departures' ? 'departure' : 'arrival';

export interface StoredMessage {
  id: string;
  movementId: string;
  /** IE code; undefined while a large-message upload is pending. */
  messageType: string | undefined;
  /** Epoch milliseconds; strictly increasing within a movement so "newest first" is stable. */
  received: number;
  status: MessageStatus;
  /** Stored byte-for-byte; undefined until uploaded (large route). */
  body: Buffer | undefined;
}

export interface Movement {
  id: string;
  type: MovementType;
  /** EORI of the enrolment that owns the movement (the token's EORI); scopes visibility. */
  enrollmentEori: string;
  /** Holder (departures) or trader at destination (arrivals) named in the message. */
  movementEori: string;
  mrn: string | undefined;
  lrn: string | undefined;
  created: number;
  updated: number;
  /** PPNS box notified for this movement; undefined = no box, no pushes (HMRC omits boxId). */
  boxId: string | undefined;
  officeOfDeparture: string | undefined;
  officeOfDestination: string | undefined;
  messages: StoredMessage[];
}

/** HMRC ids: 16 lower-case hex characters (`^[0-9a-f]{16}$`). */
export const newHexId = (): string => randomBytes(8).toString('hex');
export const hexIdPattern = /^[0-9a-f]{16}$/;

/** HMRC writes times as ISO-8601 UTC with milliseconds, e.g. 2022-11-10T15:32:51.459Z. */
export const isoTime = (epochMs: number): string => new Date(epochMs).toISOString();

export interface NewMovement {
  id?: string;
  type: MovementType;
  enrollmentEori: string;
  movementEori?: string;
  mrn?: string;
  lrn?: string;
  boxId?: string;
  officeOfDeparture?: string;
  officeOfDestination?: string;
}

export class MovementStore {
  private readonly movements = new Map<string, Movement>();
  /** LRNs in use per enrolment EORI; freed by IE056 (of an IE015) or a positive IE009. */
  private readonly lrnsInUse = new Map<string, Set<string>>();

  create(input: NewMovement): Movement {
    const now = Date.now();
    const movement: Movement = {
      id: input.id ?? newHexId(),
      type: input.type,
      enrollmentEori: input.enrollmentEori,
      movementEori: input.movementEori ?? input.enrollmentEori,
      mrn: input.mrn,
      lrn: input.lrn,
      created: now,
      updated: now,
      boxId: input.boxId,
      officeOfDeparture: input.officeOfDeparture,
      officeOfDestination: input.officeOfDestination,
      messages: [],
    };
    this.movements.set(movement.id, movement);
    return movement;
  }

  get(id: string): Movement | undefined {
    return this.movements.get(id);
  }

  /** The movement, if it exists, is of `type` and belongs to `eori`: HMRC answers 404 otherwise. */
  visible(type: MovementType, id: string, eori: string): Movement | undefined {
    const movement = this.movements.get(id);
    return movement !== undefined && movement.type === type && movement.enrollmentEori === eori
      ? movement
      : undefined;
  }

  list(type: MovementType, eori: string): Movement[] {
    const result: Movement[] = [];
    for (const movement of this.movements.values()) {
      if (movement.type === type && movement.enrollmentEori === eori) result.push(movement);
    }
    return result;
  }

  all(): Movement[] {
    return [...this.movements.values()];
  }

  addMessage(
    movement: Movement,
    input: { messageType: string | undefined; status: MessageStatus; body: Buffer | undefined },
  ): StoredMessage {
    const last = movement.messages.at(-1)?.received ?? 0;
    const received = Math.max(Date.now(), last + 1);
    const message: StoredMessage = { id: newHexId(), movementId: movement.id, received, ...input };
    movement.messages.push(message);
    movement.updated = Math.max(movement.updated, received);
    return message;
  }

  findMessage(movement: Movement, messageId: string): StoredMessage | undefined {
    return movement.messages.find((message) => message.id === messageId);
  }

  lrnInUse(eori: string, lrn: string): boolean {
    return this.lrnsInUse.get(eori)?.has(lrn) ?? false;
  }

  useLrn(eori: string, lrn: string): void {
    let set = this.lrnsInUse.get(eori);
    if (set === undefined) {
      set = new Set();
      this.lrnsInUse.set(eori, set);
    }
    set.add(lrn);
  }

  /** LRN reuse is allowed after an IE056 rejection of the IE015 or a positive IE009. */
  releaseLrn(eori: string, lrn: string): void {
    this.lrnsInUse.get(eori)?.delete(lrn);
  }

  reset(): void {
    this.movements.clear();
    this.lrnsInUse.clear();
  }

  get size(): number {
    return this.movements.size;
  }
}
