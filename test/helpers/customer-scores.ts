import { defineEntity, defineSource } from '../../lib/definitions/index.ts';

/** The customer entity and a `scores` source (customer_id, score int64, event_ts) several tests share. */
export const customer = defineEntity({
  name: 'customer',
  joinKeys: [{ name: 'customer_id', type: 'string' }],
});

export const scores = defineSource({
  name: 'scores',
  schema: { customer_id: 'string', score: 'int64', event_ts: 'timestamp' },
  timestampField: 'event_ts',
});
