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

  it('accepts a JWT authorizer with issuer and audience', () => {
    const config = resolveStageConfig('dev', {
      api: {
        authorization: 'jwt',
        jwtIssuer: 'https://issuer.example.com',
        jwtAudience: ['fstore'],
      },
    });
    expect(config.api.authorization).toBe('jwt');
  });

  it('rejects a JWT authorizer without an issuer, naming stage and field', () => {
    expect(() => resolveStageConfig('dev', { api: { authorization: 'jwt' } })).toThrow(
      'stage config "dev": api.jwtIssuer: a JWT authorizer needs jwtIssuer and jwtAudience',
    );
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

  it('returns a frozen config', () => {
    const config = resolveStageConfig('dev');
    expect(Object.isFrozen(config)).toBe(true);
  });
});
