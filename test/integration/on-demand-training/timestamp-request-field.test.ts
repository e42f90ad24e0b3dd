import { describe, expect, it } from 'vitest';
import { defineFeatureService, defineOnDemandView } from '../../../lib/definitions/index.ts';
import { offlineFixture } from '../../helpers/offline-fixture.ts';
import { customer, profile, profileRows, profiles } from '../../helpers/on-demand-echo-fixture.ts';

// Transforms may not read the clock: the purity check tells authors to "send the time ... as a
// request field instead". In a training set the natural column for it is the entity timestamp
// (--timestamp-column), which loadEntities has already converted to a UTC TIMESTAMP, so the
// transform reads DuckDB's rendering instead of the text the row holds (and a lookup sends).
const hourly = defineOnDemandView({
  name: 'hourly',
  request: { request_time: 'string' },
  inputs: [profile.select(['monthly'])],
  features: { seen_time: 'string', hour: 'int32' },
  transform: (row) => ({
    seen_time: row.request_time,
    hour: new Date(row.request_time).getUTCHours(),
  }),
});
const service = defineFeatureService({ name: 'hourly_service', features: [hourly] });

describe('a string request field that is also the entity timestamp column', () => {
  it('is refused naming the column: training sets convert it to UTC, so the transform would not see it as written', async () => {
    const fixture = await offlineFixture([customer, profiles, profile, hourly, service]);
    await fixture.ingest('profiles', profileRows);
    const written = '2026-03-10T09:30:00+02:00';
    const made = fixture.trainingSet([{ customer_id: 'C1', request_time: written }], {
      request: { service: 'hourly_service' },
      entityTimestampColumn: 'request_time',
    });
    await expect(made).rejects.toThrow(
      /request value "request_time" is the entity timestamp column of .*, which training sets convert to UTC/,
    );
  }, 120_000);
});
