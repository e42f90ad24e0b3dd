import { describe, expect, it } from 'vitest';
import { resolveStageConfig } from '../../lib/config/stages.ts';

describe('stage config', () => {
  it('gives dev data that is deleted with the stack and IAM authorization', () => {
    const dev = resolveStageConfig('dev');
    expect(dev).toMatchObject({
      name: 'dev',
      region: 'us-east-1',
      retainData: false,
      deletionProtection: false,
      api: { authorization: 'iam' },
    });
  });

  it('gives prod retained data, deletion protection and a larger query cutoff', () => {
    const prod = resolveStageConfig('prod');
    expect(prod.retainData).toBe(true);
    expect(prod.deletionProtection).toBe(true);
    expect(prod.offline.athenaBytesScannedCutoffPerQuery).toBeGreaterThan(
      resolveStageConfig('dev').offline.athenaBytesScannedCutoffPerQuery,
    );
  });

  it('treats prod-* names as production and any other name as dev-like', () => {
    expect(resolveStageConfig('prod-eu').retainData).toBe(true);
    expect(resolveStageConfig('staging').retainData).toBe(false);
    expect(resolveStageConfig('alice-sandbox').name).toBe('alice-sandbox');
  });

  it('accepts an account, a region and merged overrides', () => {
    const config = resolveStageConfig('dev', {
      account: '123456789012',
      region: 'eu-west-1',
      api: { throttleRateLimit: 5 },
      tags: { team: 'ml' },
    });
    expect(config).toMatchObject({
      account: '123456789012',
      region: 'eu-west-1',
      api: { throttleRateLimit: 5, throttleBurstLimit: 200 },
      tags: { team: 'ml' },
    });
  });

  it('accepts a JWT authorizer with issuer, audience and push scopes', () => {
    const config = resolveStageConfig('dev', {
      api: {
        authorization: 'jwt',
        jwtIssuer: 'https://issuer.example.com',
        jwtAudience: ['fstore'],
        jwtPushScopes: ['fstore/push'],
        jwtLookupScopes: ['fstore/read'],
      },
    });
    expect(config.api).toMatchObject({
      authorization: 'jwt',
      jwtPushScopes: ['fstore/push'],
      jwtLookupScopes: ['fstore/read'],
    });
  });

  it('rejects a JWT stage without push scopes, since every lookup token could then push', () => {
    expect(() =>
      resolveStageConfig('dev', {
        api: {
          authorization: 'jwt',
          jwtIssuer: 'https://issuer.example.com',
          jwtAudience: ['fstore'],
        },
      }),
    ).toThrow(
      'stage config "dev": api.jwtPushScopes: required when authorization is "jwt": the OAuth scopes a token needs to push',
    );
    expect(() =>
      resolveStageConfig('dev', {
        api: {
          authorization: 'jwt',
          jwtIssuer: 'https://issuer.example.com',
          jwtAudience: ['fstore'],
          jwtPushScopes: [],
        },
      }),
    ).toThrow('api.jwtPushScopes: required when authorization is "jwt"');
  });

  it('rejects a scope that grants both push and lookup, naming it', () => {
    expect(() =>
      resolveStageConfig('dev', {
        api: {
          authorization: 'jwt',
          jwtIssuer: 'https://issuer.example.com',
          jwtAudience: ['fstore'],
          jwtPushScopes: ['fstore/push', 'fstore/all'],
          jwtLookupScopes: ['fstore/read', 'fstore/all'],
        },
      }),
    ).toThrow('api.jwtLookupScopes: "fstore/all" is also a push scope');
  });

  it('rejects a scope with a space or a quote (not an OAuth scope token)', () => {
    for (const scope of ['fstore push', 'fstore"push', ''])
      expect(() =>
        resolveStageConfig('dev', {
          api: {
            authorization: 'jwt',
            jwtIssuer: 'https://issuer.example.com',
            jwtAudience: ['fstore'],
            jwtPushScopes: [scope],
          },
        }),
      ).toThrow('api.jwtPushScopes.0: must be one OAuth scope');
  });

  it('rejects a JWT authorizer without an issuer, naming stage and field', () => {
    expect(() =>
      resolveStageConfig('dev', {
        api: { authorization: 'jwt', jwtAudience: ['fstore'], jwtPushScopes: ['fstore/push'] },
      }),
    ).toThrow('stage config "dev": api.jwtIssuer: required when authorization is "jwt"');
  });

  it('rejects a JWT authorizer without an audience', () => {
    expect(() =>
      resolveStageConfig('dev', {
        api: {
          authorization: 'jwt',
          jwtIssuer: 'https://issuer.example.com',
          jwtPushScopes: ['fstore/push'],
        },
      }),
    ).toThrow('stage config "dev": api.jwtAudience: required when authorization is "jwt"');
  });

  it('rejects a JWT issuer that is not https', () => {
    expect(() =>
      resolveStageConfig('dev', {
        api: { authorization: 'jwt', jwtIssuer: 'http://issuer.example.com', jwtAudience: ['a'] },
      }),
    ).toThrow('api.jwtIssuer: must be an https URL');
  });

  it('rejects a fractional throttle burst', () => {
    expect(() => resolveStageConfig('dev', { api: { throttleBurstLimit: 1.5 } })).toThrow(
      'stage config "dev": api.throttleBurstLimit:',
    );
  });

  it('rejects an alarm email that is not an address, naming its position', () => {
    expect(() =>
      resolveStageConfig('prod', { alarms: { emails: ['a@example.com', 'oncall'] } }),
    ).toThrow('stage config "prod": alarms.emails.1: must be an email address');
  });

  it('rejects an alarm endpoint that is not https', () => {
    expect(() =>
      resolveStageConfig('prod', { alarms: { httpsEndpoints: ['http://hooks.example.com/x'] } }),
    ).toThrow('stage config "prod": alarms.httpsEndpoints.0: must be an https URL');
  });

  it('subscribes nobody to alarms by default and marks only prod stages as production', () => {
    expect(resolveStageConfig('prod').alarms).toEqual({ emails: [], httpsEndpoints: [] });
    expect(resolveStageConfig('prod').production).toBe(true);
    expect(resolveStageConfig('prod-eu').production).toBe(true);
    expect(resolveStageConfig('dev').production).toBe(false);
    expect(resolveStageConfig('production-like').production).toBe(false);
  });

  it('merges nested overrides field by field, keeping the other defaults', () => {
    const config = resolveStageConfig('prod', {
      alarms: { emails: ['oncall@example.com'] },
      materialization: { reservedConcurrency: 3 },
      offline: { trainingSetsExpirationDays: 'never' },
    });
    expect(config.alarms).toEqual({ emails: ['oncall@example.com'], httpsEndpoints: [] });
    expect(config.materialization).toMatchObject({ reservedConcurrency: 3, retryAttempts: 2 });
    expect(config.offline).toMatchObject({
      trainingSetsExpirationDays: 'never',
      requestsExpirationDays: 365,
      queryResultsExpirationDays: 30,
    });
  });

  it('expires requests, training sets and quarantined rows sooner in dev than in prod', () => {
    const dev = resolveStageConfig('dev').offline;
    const prod = resolveStageConfig('prod').offline;
    expect(dev).toMatchObject({
      requestsExpirationDays: 30,
      trainingSetsExpirationDays: 30,
      quarantineExpirationDays: 30,
      queryResultsExpirationDays: 7,
    });
    expect(prod).toMatchObject({
      requestsExpirationDays: 365,
      trainingSetsExpirationDays: 365,
      quarantineExpirationDays: 90,
      queryResultsExpirationDays: 30,
    });
  });

  it('rejects an expiry of zero days instead of reading it as "never"', () => {
    expect(() => resolveStageConfig('dev', { offline: { requestsExpirationDays: 0 } })).toThrow(
      'stage config "dev": offline.requestsExpirationDays: must be a positive number of days or "never"',
    );
  });

  it('reserves no lookup concurrency by default and rejects a reservation of zero', () => {
    expect(resolveStageConfig('prod').api.reservedConcurrency).toBeUndefined();
    expect(resolveStageConfig('prod', { api: { reservedConcurrency: 50 } }).api).toMatchObject({
      reservedConcurrency: 50,
    });
    expect(() => resolveStageConfig('prod', { api: { reservedConcurrency: 0 } })).toThrow(
      'stage config "prod": api.reservedConcurrency: must be at least 1',
    );
  });

  it('rejects tags in the reserved aws: namespace', () => {
    expect(() => resolveStageConfig('dev', { tags: { 'aws:owner': 'me' } })).toThrow(
      'stage config "dev": tags.aws:owner: tag keys may not start with "aws:"',
    );
  });

  it('rejects unknown fields', () => {
    expect(() =>
      resolveStageConfig('dev', { retain: true } as unknown as Parameters<
        typeof resolveStageConfig
      >[1]),
    ).toThrow('stage config "dev": config: Unrecognized key: "retain"');
  });

  it('lists every bad field at once', () => {
    expect(() =>
      resolveStageConfig('prod', { account: 'x', api: { throttleRateLimit: 0 } }),
    ).toThrow(/account: .*; api\.throttleRateLimit: /);
  });

  it('rejects a negative throttle rate', () => {
    expect(() => resolveStageConfig('prod', { api: { throttleRateLimit: -1 } })).toThrow(
      'stage config "prod": api.throttleRateLimit: must be a positive number',
    );
  });

  it('rejects an account id that is not 12 digits', () => {
    expect(() => resolveStageConfig('dev', { account: '1234' })).toThrow(
      'stage config "dev": account: must be a 12-digit AWS account id',
    );
  });

  it('rejects a region that is not an AWS region', () => {
    expect(() => resolveStageConfig('dev', { region: 'mars' })).toThrow(
      'region: must be an AWS region such as us-east-1',
    );
  });

  it('rejects an environment name with upper-case letters', () => {
    expect(() => resolveStageConfig('Prod')).toThrow(
      'stage config "Prod": name: must be lower-case letters',
    );
  });

  it('rejects an Athena cutoff below the 10 MiB minimum', () => {
    expect(() =>
      resolveStageConfig('dev', { offline: { athenaBytesScannedCutoffPerQuery: 1000 } }),
    ).toThrow('offline.athenaBytesScannedCutoffPerQuery: must be at least 10 MiB');
  });

  it('returns a deeply frozen config', () => {
    const config = resolveStageConfig('dev', { tags: { team: 'ml' } });
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.api)).toBe(true);
    expect(Object.isFrozen(config.offline)).toBe(true);
    expect(Object.isFrozen(config.tags)).toBe(true);
  });

  it('documents dev-like defaults for any other environment name', () => {
    const { name: _staging, ...staging } = resolveStageConfig('staging');
    const { name: _dev, ...dev } = resolveStageConfig('dev');
    expect(staging).toEqual(dev);
  });
});
