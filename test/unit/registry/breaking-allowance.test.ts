import { describe, expect, it } from 'vitest';
import {
  judgeBreakingChanges,
  parseAllowBreaking,
} from '../../../lib/registry/breaking-allowance.ts';
import type { DefinitionChange, RegistryPlan } from '../../../lib/registry/plan.ts';
import { describeBreakingChange } from '../../../lib/registry/plan-labels.ts';

const change = (
  name: string,
  level: DefinitionChange['level'],
  extra: Partial<DefinitionChange> = {},
): DefinitionChange => ({
  kind: 'featureView',
  name,
  action: 'change',
  level,
  fields: [],
  ...extra,
});

const planOf = (...changes: DefinitionChange[]): RegistryPlan => ({
  toVersion: 'v2',
  fromVersion: 'v1',
  changes,
  counts: { metadata: 0, safe: 0, breaking: changes.filter((c) => c.level === 'breaking').length },
  hasBreaking: changes.some((c) => c.level === 'breaking'),
});

describe('judgeBreakingChanges', () => {
  it('refuses every breaking change no name covers, and only breaking ones', () => {
    const plan = planOf(change('a', 'breaking'), change('b', 'safe'), change('c', 'breaking'));
    const judgement = judgeBreakingChanges(plan, ['a']);
    expect(judgement.refused.map((c) => c.name)).toEqual(['c']);
    expect(judgement.allowed.map((c) => c.name)).toEqual(['a']);
  });

  it('lets a name cover a breaking change of any kind so named', () => {
    const plan = planOf(
      change('churn_v1', 'breaking', { kind: 'featureService', action: 'remove' }),
    );
    expect(judgeBreakingChanges(plan, ['churn_v1']).refused).toEqual([]);
  });

  it('reports allowed names that have no breaking change (stale or mistyped)', () => {
    const plan = planOf(change('a', 'breaking'), change('b', 'metadata'));
    expect(judgeBreakingChanges(plan, ['a', 'b', 'zzz']).unusedNames).toEqual(['b', 'zzz']);
  });
});

describe('parseAllowBreaking', () => {
  it('splits on commas, trims, and drops blanks', () => {
    expect(parseAllowBreaking(' a, b ,,c ')).toEqual(['a', 'b', 'c']);
  });

  it('allows nothing when the context key is absent', () => {
    expect(parseAllowBreaking(undefined)).toEqual([]);
  });
});

describe('describeBreakingChange', () => {
  it('names the kind, the definition, each breaking field and the services affected', () => {
    const text = describeBreakingChange(
      change('customer_profile', 'breaking', {
        fields: [
          { field: 'description', action: 'change', level: 'metadata', reason: 'metadata' },
          { field: 'features.x.type', action: 'change', level: 'breaking', reason: 'type change' },
        ],
        affectedServices: ['churn_v1'],
      }),
    );
    expect(text).toBe(
      'feature view customer_profile: features.x.type: type change [services affected: churn_v1]',
    );
  });

  it('says "removed" and gives the reason of a removal', () => {
    const text = describeBreakingChange(
      change('churn_v1', 'breaking', {
        kind: 'featureService',
        action: 'remove',
        reason: 'models calling this service lose their features',
      }),
    );
    expect(text).toBe(
      'removed feature service churn_v1: models calling this service lose their features',
    );
  });
});
