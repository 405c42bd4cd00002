import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { idParam, instant, parseBody } from '../../core/http/admin-api.ts';

const failure = (fn: () => unknown) => {
  try {
    fn();
  } catch (error) {
    const { message, statusCode } = error as Error & { statusCode: number };
    return { message, statusCode };
  }
  throw new Error('expected a failure');
};

describe('admin API request pieces', () => {
  it.each([
    ['7', 7],
    ['2147483647', 2_147_483_647],
  ])('the id "%s" is %d', (given, id) => expect(idParam({ id: given })).toBe(id));

  it.each([
    ['abc', 400, '"abc" is not an id'],
    ['-3', 400, '"-3" is not an id'],
    ['1.5', 400, '"1.5" is not an id'],
    ['0', 404, 'nothing has the id 0'],
    ['2147483648', 404, 'nothing has the id 2147483648'],
  ])('the id "%s" is refused with %d', (given, statusCode, message) => expect(failure(() => idParam({ id: given }))).toEqual({ statusCode, message }));

  it('a body is checked by its schema, every field at fault named in one 400', () => {
    const schema = z.strictObject({ author: z.string().min(1), startsAt: instant });
    expect(parseBody(schema, { author: 'ana', startsAt: '2026-01-01T01:00:00+01:00' })).toEqual({ author: 'ana', startsAt: Date.UTC(2026, 0, 1) });
    expect(parseBody(schema, { author: 'ana', startsAt: 5 }).startsAt).toBe(5);
    const refused = failure(() => parseBody(schema, undefined));
    expect(refused.statusCode).toBe(400);
    expect(refused.message).toMatch(/^Invalid request: .*author.*startsAt/);
  });
});
