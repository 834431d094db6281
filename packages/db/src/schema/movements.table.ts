import type { ColumnType, Generated, Insertable, Selectable, Updateable } from 'kysely';

export type MovementType = 'departure' | 'arrival';

export interface MovementsTable {
  movement_type: MovementType;
  /** HMRC departureId/arrivalId: 16 lower-case hex characters (small integers on the retired v1 API). */
  movement_id: string;
  /** EORI of the enrolment the movement belongs to at HMRC (whose token reads it). */
  enrollment_eori: string | null;
  /**
   * True when HMRC reported enrollment_eori (a PPNS payload's enrollmentEORINumber, a CTC list);
   * false when it is our claim (a declaration we sent, the label of the token that fetched it).
   * A claim that HMRC later contradicts quarantines the movement.
   */
  enrollment_verified: Generated<boolean>;
  /** The connection (oauth_tokens.connection_id) whose token created or fetched this movement. */
  via_connection: string | null;
  /** Set while the movement is quarantined: hidden from EORI-scoped keys until an operator resolves it. */
  quarantined_at: Date | null;
  quarantine_reason: string | null;
  /** EORI named in the declaration (holder of the transit procedure / trader at destination). */
  movement_eori: string | null;
  mrn: string | null;
  lrn: string | null;
  box_id: string | null;
  /** The movement path, e.g. /customs/transits/movements/departures/{id} (v1's `requestId`). */
  request_id: string;
  /** Derived from the message types the movement has (packages/ncts deriveMovementStatus). */
  status: Generated<string>;
  api_version: string | null;
  message_count: Generated<number>;
  /** Month of first sight; partition key of the movement's messages and unit of retention. */
  retention_month: ColumnType<string, string | undefined, never>;
  created_at: Generated<Date>;
  updated_at: Generated<Date>;
  last_message_at: Date | null;
}

export type Movement = Selectable<MovementsTable>;
export type NewMovement = Insertable<MovementsTable>;
export type MovementUpdate = Updateable<MovementsTable>;
