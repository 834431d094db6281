import { z } from 'zod';

// Small, reusable field parsers for environment variables. Every value arrives as a string (or is
// missing); these turn it into the typed value or fail with a message that the loader prefixes
// with the variable's name.

export const port = (fallback: number) =>
  z.coerce.number().int().min(0).max(65535).default(fallback);

export const positiveInt = (fallback: number) =>
  z.coerce.number().int().positive().default(fallback);

export const nonNegativeInt = (fallback: number) =>
  z.coerce.number().int().min(0).default(fallback);

/** `true`/`false` (also 1/0, yes/no, on/off), case-insensitive. */
export const bool = (fallback: boolean) =>
  z
    .stringbool({ truthy: ['true', '1', 'yes', 'on'], falsy: ['false', '0', 'no', 'off'] })
    .default(fallback);

/** Comma-separated list; blanks around items and empty items are ignored. */
export const list = <T extends z.ZodType<string>>(item: T) =>
  z.preprocess(
    (value) =>
      typeof value === 'string'
        ? value
            .split(',')
            .map((part) => part.trim())
            .filter((part) => part.length > 0)
        : value,
    z.array(item),
  );

export const url = () =>
  z
    .string()
    .trim()
    .refine((value) => URL.canParse(value), { message: 'must be an absolute URL' });

/** A base URL without trailing slash, so `${base}${path}` never yields `//`. */
export const baseUrl = () => url().transform((value) => value.replace(/\/+$/, ''));

export const uuid = () =>
  z
    .string()
    .trim()
    .regex(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i, 'must be a UUID')
    .transform((value) => value.toLowerCase());

/** EORI: two-letter country code followed by up to 15 alphanumerics (GB EORIs are GB + 12 or 15 digits). */
export const eori = () =>
  z
    .string()
    .trim()
    .regex(/^[A-Z]{2}[0-9A-Z]{1,15}$/, 'must be an EORI such as GB123456789000');
