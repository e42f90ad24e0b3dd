import { describe, expect, it } from 'vitest';
import { readLookupConfig } from '../../../lambdas/online-lookup/config.ts';

/*
 * The variables are read as Number() reads them, as the zod coercion before the hand check did:
 * these cases were compared with that schema's answers when the check replaced it.
 */
describe('the lookup function configuration', () => {
  it.each([
    ['MAX_ENTITIES', ' 5 ', 5],
    ['MAX_ENTITIES', '1e3', 1000],
    ['MAX_ENTITIES', '0x10', 16],
    ['MAX_ENTITIES', '1.0', 1],
    ['CACHE_TTL_MS', '', 0],
    ['CACHE_TTL_MS', '0', 0],
    ['DEADLINE_MARGIN_MS', '0', 0],
    ['DEADLINE_MARGIN_MS', '500', 500],
    ['DEADLINE_MARGIN_MS', '5000', 5000],
    ['MAX_BODY_BYTES', '1024', 1024],
  ])('reads %s=%j as %d', (name, text, expected) => {
    const config = readLookupConfig({ TABLE_NAME: 'abc', [name]: text });
    const field = {
      MAX_ENTITIES: config.maxEntities,
      CACHE_TTL_MS: config.cacheTtlMs,
      DEADLINE_MARGIN_MS: config.deadlineMarginMs,
      MAX_BODY_BYTES: config.maxBodyBytes,
    }[name];
    expect(field).toBe(expected);
  });

  it.each([
    ['MAX_ENTITIES', 'Infinity', 'must be a number'],
    ['MAX_ENTITIES', 'NaN', 'must be a number'],
    ['MAX_ENTITIES', '5px', 'must be a number'],
    ['MAX_ENTITIES', '', 'must be a positive whole number'],
    ['MAX_ENTITIES', '9007199254740992', 'must be a positive whole number'],
    ['MAX_BODY_BYTES', '-3', 'must be a positive whole number'],
    ['CACHE_TTL_MS', '-Infinity', 'must be a number'],
    ['CACHE_TTL_MS', '0.5', 'must be a whole number, 0 or more'],
    ['DEADLINE_MARGIN_MS', '-1', 'must be a whole number, 0 or more'],
    ['DEADLINE_MARGIN_MS', '2.5', 'must be a whole number, 0 or more'],
    ['DEADLINE_MARGIN_MS', 'soon', 'must be a number'],
    ['DEADLINE_MARGIN_MS', '5001', 'must be at most 5000 (got 5001)'],
    ['DEADLINE_MARGIN_MS', '10000', 'must be at most 5000 (got 10000)'],
  ])('refuses %s=%j: %s', (name, text, message) => {
    expect(() => readLookupConfig({ TABLE_NAME: 'abc', [name]: text })).toThrow(
      `online-lookup configuration: ${name}: ${message}`,
    );
  });

  it('leaves the margin unset when DEADLINE_MARGIN_MS is, for the invocation’s one default', () => {
    expect(readLookupConfig({ TABLE_NAME: 'abc' })).not.toHaveProperty('deadlineMarginMs');
  });

  it('names the table name first when several variables are wrong', () => {
    expect(() => readLookupConfig({ TABLE_NAME: '', MAX_ENTITIES: 'x' })).toThrow(
      'online-lookup configuration: TABLE_NAME: must be a table name of at least 3 characters',
    );
  });
});
