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
  /**
   * '1.0' for a movement created through the retired phase-4 API (integer ids, v1 payloads and
   * bodies); undefined for v2.1/3.0. HMRC kept the two in separate backends, so neither API
   * version sees the other's movements.
   */
  apiVersion?: '1.0';
  /** 'phase6' for a movement declared through API 3.0: NCTS answers it with phase 6 messages. */
  phase?: 'phase6';
}

/** HMRC ids: 16 lower-case hex characters (`^[0-9a-f]{16}$`); v1 used small integers. */
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
  apiVersion?: '1.0';
}

/**
 * Where a movement is kept. v2 ids are unique across types; v1 ids are integers counted per
 * movement type (departure 12 and arrival 12 can both exist), so they get their own key space.
 */
const storageKey = (type: MovementType, id: string, apiVersion: '1.0' | undefined): string =>
  apiVersion === '1.0' ? `1.0/${type}/${id}` : id;

export class MovementStore {
  private readonly movements = new Map<string, Movement>();
  /** Last v1 id issued per movement type (v1 numbered departures and arrivals separately). */
  private readonly v1Sequences: Record<MovementType, number> = { departure: 0, arrival: 0 };
  /** LRNs in use per enrolment EORI; freed by IE056 (of an IE015) or a positive IE009. */
  private readonly lrnsInUse = new Map<string, Set<string>>();

  create(input: NewMovement): Movement {
    const now = Date.now();
    const id =
      input.id ??
      (input.apiVersion === '1.0' ? String((this.v1Sequences[input.type] += 1)) : newHexId());
    const movement: Movement = {
      id,
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
      ...(input.apiVersion === undefined ? {} : { apiVersion: input.apiVersion }),
    };
    this.movements.set(storageKey(movement.type, movement.id, movement.apiVersion), movement);
    return movement;
  }

  /** True while `movement` is stored (a reset forgets it). */
  holds(movement: Movement): boolean {
    return (
      this.movements.get(storageKey(movement.type, movement.id, movement.apiVersion)) === movement
    );
  }

  /** A v2.x movement by id (v1 movements live in their own key space: see visibleV1). */
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

  /** A v1 movement, on the same terms as `visible`. */
  visibleV1(type: MovementType, id: string, eori: string): Movement | undefined {
    const movement = this.movements.get(storageKey(type, id, '1.0'));
    return movement !== undefined && movement.enrollmentEori === eori ? movement : undefined;
  }

  /** Movements of `type` owned by `eori`, of one API generation (v2.x unless apiVersion '1.0'). */
  list(type: MovementType, eori: string, apiVersion?: '1.0'): Movement[] {
    const result: Movement[] = [];
    for (const movement of this.movements.values()) {
      if (
        movement.type === type &&
        movement.enrollmentEori === eori &&
        movement.apiVersion === apiVersion
      )
        result.push(movement);
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
    // v1 numbered a movement's messages 1, 2, 3… (messageUri …/arrivals/12/messages/3).
    const id = movement.apiVersion === '1.0' ? String(movement.messages.length + 1) : newHexId();
    const message: StoredMessage = { id, movementId: movement.id, received, ...input };
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
    this.v1Sequences.departure = 0;
    this.v1Sequences.arrival = 0;
  }

  get size(): number {
    return this.movements.size;
  }
}
