/**
 * Identifiers and time formats of generated NCTS messages: MRN (with its check digit), LRN,
 * GRN, message identifications, and the zone-less date-times the phase 5 XSDs require.
 */

/** A source of uniform numbers in [0, 1); pass a seeded one for reproducible messages. */
export type RandomSource = () => number;

/** mulberry32: a tiny, fast seeded generator, good enough for test data (not for secrets). */
export function createSeededRandom(seed: number): RandomSource {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const upperAlphanumerics = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
const digits = '0123456789';

export function randomString(random: RandomSource, alphabet: string, length: number): string {
  let text = '';
  for (let index = 0; index < length; index += 1) {
    text += alphabet[Math.floor(random() * alphabet.length)];
  }
  return text;
}

// ISO 6346 character values, which the MRN check digit uses: digits keep their value, letters
// count up from A=10 skipping multiples of 11 (11, 22, 33).
const characterValues: Record<string, number> = (() => {
  const values: Record<string, number> = {};
  for (let digit = 0; digit <= 9; digit += 1) values[String(digit)] = digit;
  let value = 10;
  for (const letter of 'ABCDEFGHIJKLMNOPQRSTUVWXYZ') {
    if (value % 11 === 0) value += 1;
    values[letter] = value;
    value += 1;
  }
  return values;
})();

/** The check digit of an MRN computed over its first 17 characters (ISO 6346 weighting). */
export function mrnCheckDigit(first17: string): string {
  let sum = 0;
  for (let index = 0; index < first17.length; index += 1) {
    const value = characterValues[first17[index]!];
    if (value === undefined) throw new RangeError(`invalid MRN character ${first17[index]}`);
    sum += value * 2 ** index;
  }
  return String((sum % 11) % 10);
}

export interface MrnOptions {
  /** Country of the office of departure, e.g. GB or XI. */
  country?: string;
  /** Year of the declaration; defaults to the current year. */
  year?: number;
  /**
   * Phase 5 procedure indicator (17th character): J transit only, K transit + exit summary
   * declaration, L transit + export, M transit + export + exit summary declaration.
   */
  procedure?: 'J' | 'K' | 'L' | 'M';
  random?: RandomSource;
}

/**
 * A phase 5 ('to be') MRN: yy + country + 12 alphanumerics + procedure indicator + check digit,
 * matching the XSD pattern `([2][4-9]|[3-9][0-9])[A-Z]{2}[A-Z0-9]{12}[J-M][0-9]`.
 */
export function generateMrn(options: MrnOptions = {}): string {
  const random = options.random ?? Math.random;
  // The phase 5 MRN form (procedure letter J-M) is only valid for years 24 and later.
  const year = String(Math.max(2024, options.year ?? new Date().getUTCFullYear()) % 100).padStart(
    2,
    '0',
  );
  const country = (options.country ?? 'GB').toUpperCase();
  const first17 = `${year}${country}${randomString(random, upperAlphanumerics, 12)}${options.procedure ?? 'J'}`;
  return `${first17}${mrnCheckDigit(first17)}`;
}

/** True for a phase 5 MRN whose check digit is right. */
export function isValidMrn(mrn: string): boolean {
  if (!/^([2][4-9]|[3-9][0-9])[A-Z]{2}[A-Z0-9]{12}[J-M][0-9]$/.test(mrn)) return false;
  return mrnCheckDigit(mrn.slice(0, 17)) === mrn[17];
}

/**
 * A trader's Local Reference Number: the prefix then random upper-case alphanumerics, 22
 * characters at most (an..22 without spaces). A prefix lets the sandbox steer outcomes (e.g. REJ).
 */
export function generateLrn(prefix = 'LRN', random: RandomSource = Math.random): string {
  const clean = prefix.replace(/\s+/g, '').toUpperCase().slice(0, 16);
  return `${clean}${randomString(random, upperAlphanumerics, Math.max(6, 22 - clean.length - 4))}`.slice(
    0,
    22,
  );
}

/** A Guarantee Reference Number: yy + country + 12 alphanumerics + 1 digit. */
export function generateGrn(country = 'GB', random: RandomSource = Math.random): string {
  const year = String(new Date().getUTCFullYear() % 100).padStart(2, '0');
  return `${year}${country}${randomString(random, upperAlphanumerics, 12)}${randomString(random, digits, 1)}`;
}

/** messageIdentification (an..35); unique per message by construction, not by registry. */
export function generateMessageIdentification(random: RandomSource = Math.random): string {
  return randomString(random, upperAlphanumerics, 16);
}

const pad = (value: number, width = 2) => String(value).padStart(width, '0');

/** NCTS date-time: `2024-05-14T15:26:40` in UTC, no fraction and no zone (XSD pattern). */
export function formatNctsDateTime(date: Date): string {
  return (
    `${date.getUTCFullYear()}-${pad(date.getUTCMonth() + 1)}-${pad(date.getUTCDate())}` +
    `T${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())}:${pad(date.getUTCSeconds())}`
  );
}

/** NCTS date: `2024-05-14` (UTC). */
export function formatNctsDate(date: Date): string {
  return formatNctsDateTime(date).slice(0, 10);
}

/** Accepts a Date or an already formatted NCTS date-time. */
export function toNctsDateTime(value: Date | string): string {
  return typeof value === 'string' ? value : formatNctsDateTime(value);
}

export function addDays(date: Date, days: number): Date {
  return new Date(date.getTime() + days * 24 * 60 * 60 * 1000);
}
