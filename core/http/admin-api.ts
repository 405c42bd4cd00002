// Shared pieces of the admin API's routes: cursors, 4xx errors naming the field, and schemas every route reuses.
import { z } from 'zod';
import { formatIssues } from '../config/load.ts';

/** A 4xx answer whose message starts with the field at fault. */
export function requestError(field: string, message: string, statusCode = 400): Error {
  return badRequest(`${field}: ${message}`, statusCode);
}

function badRequest(message: string, statusCode = 400): Error {
  return Object.assign(new Error(message), { statusCode, code: statusCode === 404 ? 'NOT_FOUND' : 'BAD_REQUEST' });
}

/** A time in a request body: an ISO 8601 string with its offset, or epoch milliseconds. */
export const instant = z.union([z.iso.datetime({ offset: true }), z.number()]).transform((value) => (typeof value === 'number' ? value : Date.parse(value)));

/** A request body checked by its schema; a 400 naming every field at fault. */
export function parseBody<T extends z.ZodType>(schema: T, value: unknown): z.output<T> {
  const parsed = schema.safeParse(value ?? {});
  if (!parsed.success) throw badRequest(`Invalid request: ${formatIssues(parsed.error).join('; ')}`);
  return parsed.data;
}

/** The `:id` of a route. Ids are PostgreSQL integers: anything past 2^31 - 1 names nothing. */
export function idParam(params: unknown): number {
  const text = (params as { id: string }).id;
  if (!/^\d+$/.test(text)) throw badRequest(`"${text}" is not an id`);
  const id = Number(text);
  if (id <= 0 || id > 2_147_483_647) throw badRequest(`nothing has the id ${text}`, 404);
  return id;
}

/** An opaque cursor for the next page; what it holds is the route's business. */
export function encodeCursor(position: Record<string, number | string>): string {
  return Buffer.from(JSON.stringify(position)).toString('base64url');
}

/** The position a cursor of this API holds; anything else is a 400 naming `cursor`. */
export function decodeCursor<Position extends Record<string, number | string>>(raw: string | undefined, keys: readonly (keyof Position & string)[]): Position | undefined {
  if (raw === undefined) return undefined;
  try {
    const position = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8')) as Position;
    if (position && typeof position === 'object' && keys.every((key) => ['number', 'string'].includes(typeof position[key]))) return position;
  } catch {
    // reported below
  }
  throw requestError('cursor', 'not a cursor this API gave; pass the nextCursor of the previous page');
}

/** `limit` + 1 rows were asked for: the page, and the cursor of the next one when there is one. */
export function pageOf<Row>(rows: readonly Row[], limit: number, positionOf: (row: Row) => Record<string, number | string>): { items: Row[]; nextCursor: string | null } {
  const items = rows.slice(0, limit);
  return { items, nextCursor: rows.length > limit ? encodeCursor(positionOf(items[items.length - 1]!)) : null };
}

/** Parses an ISO date (or epoch ms) query parameter; a bad one is a 400 naming it. */
export function timeParam(field: string, raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  const value = /^\d+$/.test(raw) ? Number(raw) : Date.parse(raw);
  if (Number.isNaN(value)) throw requestError(field, `"${raw}" is not a date; use ISO 8601 like 2026-03-01T22:00:00Z`);
  return value;
}

export const errorSchema = {
  type: 'object',
  properties: { error: { type: 'object', properties: { code: { type: 'string' }, message: { type: 'string' } }, required: ['code', 'message'] } },
  required: ['error'],
} as const;

/** The 4xx answers every admin route can give. */
export const errorResponses = { 400: errorSchema, 401: errorSchema, 404: errorSchema } as const;

export const pageQueryProperties = {
  limit: { type: 'integer', minimum: 1, maximum: 500, default: 50, description: 'Items per page' },
  cursor: { type: 'string', minLength: 1, description: 'The nextCursor of the previous page' },
} as const;

export const timeRangeProperties = {
  from: { type: 'string', description: 'ISO 8601 time, inclusive' },
  to: { type: 'string', description: 'ISO 8601 time, exclusive' },
} as const;

export const labelsSchema = { type: 'object', additionalProperties: { type: 'string' } } as const;
/** An object whose listed fields are documented; others pass through unchanged. */
export const looseObject = (properties: Record<string, unknown>, required: readonly string[] = []) => ({ type: 'object', properties, required, additionalProperties: true }) as const;
