import { defineEntity, defineSource } from '../../../lib/definitions/index.ts';

export const customer = defineEntity({
  name: 'customer',
  joinKeys: [{ name: 'customer_id', type: 'string' }],
});

export const profiles = defineSource({
  name: 'profiles',
  schema: {
    customer_id: 'string',
    age: 'int32',
    plan: 'string',
    score: 'float32',
    active: 'bool',
    signup_ts: 'timestamp',
    embedding: 'list<float32>',
    event_ts: 'timestamp',
    created_ts: 'timestamp',
  },
  timestampField: 'event_ts',
  createdTimestampField: 'created_ts',
});
