import { describe, expect, it } from 'vitest';
import { requestValues } from '../../../lib/api/on-demand-lookup.ts';
import { defineFeatureService, defineOnDemandView } from '../../../lib/definitions/index.ts';
import { planOnDemand } from '../../../lib/on-demand/plan-on-demand.ts';
import { offlineFixture } from '../../helpers/offline-fixture.ts';
import {
  at,
  customer,
  profile,
  profileRows,
  profiles,
} from '../../helpers/on-demand-echo-fixture.ts';

// A request field named like a column of the service's result: a lookup answers (request
// values and features live in different JSON objects), but a training set needs the request
// value as an entity-file column AND writes the feature under the same name.
const planned = defineOnDemandView({
  name: 'planned',
  request: { plan: 'string' }, // also the output name of profile.plan below
  inputs: [profile.select(['monthly'])],
  features: { upgrade: 'bool' },
  transform: (row) => ({ upgrade: row.plan !== 'gold' && (row.monthly ?? 0) > 10 }),
});
const echoesRequest = defineOnDemandView({
  name: 'echoes_request',
  request: { score: 'float64' },
  inputs: [profile.select(['monthly'])],
  features: { score: 'float64' }, // output named like its own request field
  transform: (row) => ({ score: row.score * 2 }),
});

describe('a request field named like an output column of its service', () => {
  // Either outcome is fine: refused when the service is defined (as a request field named
  // like a join key is), or a training set as the lookup would answer. Today neither: the
  // service is accepted and the training set refuses the entity file's request column
  // ("rename that column"), so only --full-feature-names builds it.
  it.each([
    [
      'plan (a stored feature of the service)',
      [profile.select(['plan']), planned],
      [planned],
      'plan',
    ],
    ['score (an output of the same on-demand view)', [echoesRequest], [echoesRequest], 'score'],
  ] as const)(
    '%s: refused at definition, or the training set is built',
    async (_, features, views, field) => {
      let service: ReturnType<typeof defineFeatureService>;
      try {
        service = defineFeatureService({ name: 'collide', features: [...features] });
      } catch (error) {
        expect(String(error)).toMatch(new RegExp(`request field "${field}"`));
        return;
      }
      const fixture = await offlineFixture([customer, profiles, profile, ...views, service]);
      await fixture.ingest('profiles', profileRows);
      const compiled = fixture.registry.featureServices.find((s) => s.name === 'collide');
      if (!compiled) throw new Error('no service');
      const values = { plan: 'basic', score: 2 };
      const row = { customer_id: 'C1', [field]: values[field] };
      // The lookup takes it beside the join key.
      expect(
        requestValues(
          planOnDemand(fixture.registry, compiled, () => true),
          [row],
        ),
      ).toEqual([{ [field]: values[field] }]);
      const made = fixture.trainingSet([{ ...row, event_timestamp: at }], {
        request: { service: 'collide' },
      });
      await expect(made).resolves.toBeDefined();
    },
    120_000,
  );
});
