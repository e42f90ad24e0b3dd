import {
  defineEntity,
  defineFeatureView,
  defineSource,
  type FeatureViewInput,
} from '../../lib/definitions/index.ts';

/**
 * The customer entity, the `profiles` source (customer_id, monthly, event_ts) and the `profile`
 * view of its `monthly`: what the on-demand and Athena service tests build their views on.
 * `view` adds to the view (a ttl, or online with a schedule); each call defines new objects.
 */
export function monthlyProfile(
  view: Partial<Pick<FeatureViewInput, 'ttl' | 'online' | 'schedule'>> = {},
) {
  const customer = defineEntity({
    name: 'customer',
    joinKeys: [{ name: 'customer_id', type: 'string' }],
  });
  const profiles = defineSource({
    name: 'profiles',
    schema: { customer_id: 'string', monthly: 'float64', event_ts: 'timestamp' },
    timestampField: 'event_ts',
  });
  const profile = defineFeatureView({
    name: 'profile',
    entities: [customer],
    source: profiles,
    features: { monthly: 'float64' },
    ...view,
  });
  return { customer, profiles, profile };
}

/** The profile view served online, refreshed hourly (the lookup tests'). */
export const onlineMonthlyProfile = () =>
  monthlyProfile({ online: true, schedule: 'rate(1 hour)' });
