import { describe, expect, it } from 'vitest';
import {
  DefinitionError,
  defineAggregationView,
  defineFeatureService,
  defineFeatureView,
  defineSource,
} from '../../../lib/definitions/index.ts';
import { issueAt } from '../../helpers/definition-issues.ts';
import { customer } from './fixtures.ts';

const profiles = defineSource({
  name: 'customer_profiles',
  schema: {
    customer_id: 'string',
    monthly_charges: 'float64',
    tenure_months: 'int32',
    event_ts: 'timestamp',
  },
  timestampField: 'event_ts',
});
const customerProfile = defineFeatureView({
  name: 'customer_profile',
  entities: [customer],
  source: profiles,
  features: { monthly_charges: 'float64', tenure_months: 'int32' },
});

/** What a person reads: the DefinitionError's message. */
function textOf(build: () => unknown): string {
  try {
    build();
  } catch (error) {
    if (error instanceof DefinitionError) return error.message;
    throw error;
  }
  throw new Error('expected a DefinitionError, but the definition was accepted');
}

describe('definition errors suggest the closest name for a misspelled column or feature', () => {
  it('names the view, the feature and the closest source column for a misspelled feature', () => {
    const build = () =>
      defineFeatureView({
        name: 'customer_profile',
        entities: [customer],
        source: profiles,
        features: { monthly_charge: 'float64' },
      });
    const issue = issueAt(build, 'features.monthly_charge');
    expect(issue.definition).toBe('feature view "customer_profile"');
    expect(issue.message).toMatch(
      /^feature "monthly_charge" is not a column of source "customer_profiles" \(.*\); did you mean "monthly_charges"\?$/,
    );
    expect(textOf(build)).toContain(
      'feature view "customer_profile" field "features.monthly_charge": feature "monthly_charge" is not a column',
    );
  });

  it('suggests the closest column for a misspelled timestampField, calling it the event-timestamp column', () => {
    const build = () =>
      defineSource({
        name: 'customer_profiles',
        schema: { customer_id: 'string', event_ts: 'timestamp' },
        timestampField: 'event_tz',
      });
    const issue = issueAt(build, 'timestampField');
    expect(issue.definition).toBe('source "customer_profiles"');
    expect(issue.message).toBe(
      'event-timestamp column "event_tz" is not a column of the schema (customer_id, event_ts); did you mean "event_ts"?',
    );
  });

  it('suggests the closest column for a misspelled aggregation column', () => {
    const issue = issueAt(
      () =>
        defineAggregationView({
          name: 'charges_stats',
          entities: [customer],
          source: profiles,
          aggregations: { monthly_chrges: { functions: ['sum'], windows: ['30d'] } },
        }),
      'aggregations.monthly_chrges',
    );
    expect(issue.definition).toBe('feature view "charges_stats"');
    expect(issue.message).toContain('aggregated column "monthly_chrges" is not a column');
    expect(issue.message).toMatch(/; did you mean "monthly_charges"\?$/);
  });

  it('names the service, the view and the misspelled feature of a selection, with the closest feature', () => {
    const build = () =>
      defineFeatureService({
        name: 'churn_v1',
        features: [customerProfile.select(['tenure_months', 'monthly_charge'])],
      });
    const issue = issueAt(build, 'features[customer_profile].monthly_charge');
    expect(issue.definition).toBe('feature service "churn_v1"');
    expect(issue.message).toBe(
      'view "customer_profile" has no feature "monthly_charge" (it has monthly_charges, tenure_months); did you mean "monthly_charges"?',
    );
  });

  it('suggests nothing when no name is close', () => {
    const feature = issueAt(
      () =>
        defineFeatureService({
          name: 'churn_v1',
          features: [customerProfile.select(['zip_code'])],
        }),
      'features[customer_profile].zip_code',
    );
    expect(feature.message).toBe(
      'view "customer_profile" has no feature "zip_code" (it has monthly_charges, tenure_months)',
    );
    const column = issueAt(
      () =>
        defineFeatureView({
          name: 'customer_profile',
          entities: [customer],
          source: profiles,
          features: { lifetime_value: 'float64' },
        }),
      'features.lifetime_value',
    );
    expect(column.message).not.toContain('did you mean');
  });
});
