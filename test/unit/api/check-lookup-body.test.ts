import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { core } from 'zod/mini';
import { ApiError } from '../../../lib/api/api-error.ts';
import { checkLookupBody } from '../../../lib/api/check-lookup-body.ts';
import { lookupBodySchema } from '../../../lib/api/lookup-schema.ts';

/** What the API answered when lookupBodySchema checked the body: the first issue, with its path. */
function zodAnswer(json: unknown) {
  const parsed = lookupBodySchema.safeParse(json);
  if (parsed.success) return { ok: parsed.data };
  const issue = parsed.error.issues[0] as core.$ZodIssue;
  const segments: PropertyKey[] =
    issue.code === 'unrecognized_keys' ? [...issue.path, issue.keys[0] as string] : issue.path;
  const path = segments.reduce<string>(
    (at, s) => (typeof s === 'number' ? `${at}[${s}]` : `${at}.${String(s)}`),
    '$',
  );
  return {
    error: {
      code: issue.code === 'unrecognized_keys' ? 'UNKNOWN_KEY' : 'INVALID_REQUEST',
      message: `${path}: ${issue.message}`,
      details: { path },
    },
  };
}

function handAnswer(json: unknown) {
  try {
    return { ok: checkLookupBody(json) };
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    expect(error.status).toBe(400);
    return { error: { code: error.code, message: error.message, details: error.details } };
  }
}

const scalar = fc.oneof(
  fc.string({ maxLength: 50 }),
  fc.integer(),
  fc.double(),
  fc.constantFrom(0, -0, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, true, false, null),
);
const anyJson = fc.oneof(
  scalar,
  fc.array(scalar, { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 5 }), scalar, { maxKeys: 3 }),
);
const entity = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.dictionary(
      fc.constantFrom('id', 'b', '0', 'x y'),
      fc.oneof(fc.string(), fc.integer(), scalar),
      { maxKeys: 3 },
    ),
  },
  { weight: 1, arbitrary: anyJson },
);
const list = <T>(item: fc.Arbitrary<T>) =>
  fc.oneof(
    { weight: 4, arbitrary: fc.array(item, { maxLength: 4 }) },
    { weight: 1, arbitrary: anyJson },
  );
/** Bodies near the accepted shape, so every rule and the order of the problems get exercised. */
const body = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record(
      {
        entities: list(entity),
        features: list(
          fc.oneof(
            { weight: 4, arbitrary: fc.string({ maxLength: 8 }) },
            { weight: 1, arbitrary: scalar },
          ),
        ),
        other: anyJson,
        also: anyJson,
      },
      { requiredKeys: [] },
    ),
  },
  { weight: 1, arbitrary: anyJson },
);

describe('the hand-written lookup body check', () => {
  it('answers as lookupBodySchema does on bodies near and far from the accepted shape: same first problem, message, code and JSON path', () => {
    fc.assert(
      fc.property(body, (json) => {
        expect(handAnswer(json)).toEqual(zodAnswer(json));
      }),
      { numRuns: 3000 },
    );
  });

  it.each([
    ['not an object', [1], '$: must be an object with an "entities" list, got an array'],
    ['no entities', {}, '$.entities: is required'],
    ['entities not a list', { entities: 'a' }, '$.entities: must be a list, got the string "a"'],
    ['an empty entity list', { entities: [] }, '$.entities: must list at least one entity'],
    [
      'an entity not an object',
      { entities: [{ id: 'a' }, null] },
      '$.entities[1]: must be an object of join keys, got null',
    ],
    [
      'a key value out of range',
      JSON.parse('{"entities":[{"id":1e400}]}'),
      '$.entities[0].id: must be a string, a number or a boolean, got the number Infinity',
    ],
    [
      'a key value that is a list',
      { entities: [{ id: [] }] },
      '$.entities[0].id: must be a string, a number or a boolean, got an array',
    ],
    [
      'features not a list',
      { entities: [{ id: 'a' }], features: 'f' },
      '$.features: must be a list of feature names, got the string "f"',
    ],
    [
      'a feature not a string',
      { entities: [{ id: 'a' }], features: ['f', 2] },
      '$.features[1]: must be a string, got the number 2',
    ],
    [
      'an empty feature list',
      { entities: [{ id: 'a' }], features: [] },
      '$.features: must name at least one feature when given',
    ],
    [
      'a bad entity before an unknown key',
      { x: 1, entities: [7] },
      '$.entities[0]: must be an object of join keys, got the number 7',
    ],
    [
      'unknown keys',
      { entities: [{ id: 'a' }], x: 1, y: 2 },
      '$.x: "x", "y" is not an accepted key; accepted: entities, features',
    ],
  ])('refuses %s, naming the path', (_, json, message) => {
    expect(handAnswer(json)).toEqual(zodAnswer(json));
    expect(handAnswer(json).error?.message).toBe(message);
  });

  it('keeps the entities and features it accepts, and no features key when none was given', () => {
    expect(checkLookupBody({ entities: [{ id: 'a', n: 2 }], features: ['f'] })).toEqual({
      entities: [{ id: 'a', n: 2 }],
      features: ['f'],
    });
    expect(checkLookupBody({ entities: [{ id: 'a' }] })).toStrictEqual({ entities: [{ id: 'a' }] });
  });
});
