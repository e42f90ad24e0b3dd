import {
  defineFeatureView,
  defineSource,
  type FeatureViewInput,
  type SourceInput,
} from '../../lib/definitions/index.ts';
import { compileRegistry, type Registry } from '../../lib/registry/index.ts';
import { customer } from './customer-scores.ts';

/**
 * A registry of source `events` (customer_id, then `columns`, then event_ts) and its view
 * `profile` of customers with `features`, online and materialized every hour.
 */
export function hourlyProfileRegistry(
  columns: SourceInput['schema'],
  features: FeatureViewInput['features'],
): Registry {
  const events = defineSource({
    name: 'events',
    schema: { customer_id: 'string', ...columns, event_ts: 'timestamp' },
    timestampField: 'event_ts',
  });
  return compileRegistry(
    [
      customer,
      events,
      defineFeatureView({
        name: 'profile',
        entities: [customer],
        source: events,
        features,
        online: true,
        schedule: 'rate(1 hour)',
      }),
    ].map((definition) => ({ definition })),
  );
}
