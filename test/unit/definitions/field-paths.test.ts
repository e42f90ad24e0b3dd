import { describe, expect, it } from 'vitest';
import { listItemField } from '../../../lib/definitions/errors.ts';
import {
  DefinitionError,
  defineEntity,
  defineFeatureService,
  defineFeatureView,
} from '../../../lib/definitions/index.ts';
import { issuesOf } from '../../helpers/definition-issues.ts';
import { customer, profiles } from './fixtures.ts';

const profile = defineFeatureView({
  name: 'customer_profile',
  entities: [customer],
  source: profiles,
  features: { age: 'int32', plan: 'string' },
});

describe('fields of list items in definition errors', () => {
  it('name a misspelled feature of a service by its view and its name, never as features.1.1', () => {
    const build = () =>
      defineFeatureService({
        name: 'churn_v1',
        features: [profile.select(['age']), profile.select(['plann'])],
      });
    expect(issuesOf(build).map((i) => i.field)).toEqual(['features[customer_profile].plann']);
    expect(build).toThrow(
      /^feature service "churn_v1" field "features\[customer_profile\]\.plann": view "customer_profile" has no feature "plann"/,
    );
  });

  it('name join keys and entities by name, and list values by value', () => {
    expect(
      issuesOf(() =>
        defineEntity({ name: 'card', joinKeys: [{ name: 'card_id', type: 'uuid' as never }] }),
      ).map((i) => i.field),
    ).toEqual(['joinKeys[card_id].type']);
    expect(
      issuesOf(() =>
        defineFeatureView({
          name: 'v',
          entities: [customer],
          source: profiles,
          features: { plan: { type: 'string', allowedValues: ['gold', 3 as never, {} as never] } },
        }),
      ).map((i) => i.field),
    ).toEqual(['features.plan.allowedValues[#3]']);
  });

  it('quote a label that is not a plain word, and fall back to the 1-based position only without a name', () => {
    expect(listItemField('aggregations.amount.windows', '7 days')).toBe(
      'aggregations.amount.windows["7 days"]',
    );
    expect(listItemField('allowedValues', 3)).toBe('allowedValues[3]');
    expect(listItemField('joinKeys', { position: 2 })).toBe('joinKeys[#2]');
    const issues = issuesOf(() =>
      defineEntity({
        name: 'card',
        joinKeys: [{ name: 'card_id', type: 'string' }, { type: 'string' } as never],
      }),
    );
    expect(issues.map((i) => i.field)).toEqual(['joinKeys[#2].name']);
  });

  it('never hold a bare list position in any issue of a definition with several problems', () => {
    let error: unknown;
    try {
      defineFeatureService({
        name: 'model',
        features: [
          profile.select(['agee', { feature: 'plan', alias: 'Plan' }]),
          profile.select([]),
          'customer_profile' as never,
        ],
      });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(DefinitionError);
    const fields = (error as DefinitionError).issues.map((i) => i.field);
    expect(fields.length).toBeGreaterThan(0);
    for (const field of fields) expect(field).not.toMatch(/(^|\.)\d+(\.|$)/);
  });
});
