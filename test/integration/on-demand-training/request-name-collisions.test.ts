import { describe, expect, it } from 'vitest';
import { defineFeatureService, defineOnDemandView } from '../../../lib/definitions/index.ts';
import { profile } from '../../helpers/on-demand-echo-fixture.ts';

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
  // A training set's entity file holds the request value as a column beside the outputs, so
  // the two names would collide there: refused when the service is defined.
  it.each([
    ['plan (a stored feature of the service)', [profile.select(['plan']), planned], 'plan'],
    ['score (an output of the same on-demand view)', [echoesRequest], 'score'],
  ] as const)(
    '%s: refused at definition, naming the field and the output',
    (_, features, field) => {
      expect(() => defineFeatureService({ name: 'collide', features: [...features] })).toThrow(
        new RegExp(
          `request field "${field}" of on-demand view "\\w+" has the name of the service's output`,
        ),
      );
    },
  );
});
