import { describe, expect, it } from 'vitest';
import { stageOverridesFromContext } from '../../lib/config/context-overrides.ts';
import { resolveStageConfig } from '../../lib/config/stages.ts';

function reader(context: Record<string, unknown>) {
  return (key: string) => context[key];
}

function stageFromContext(env: string, context: Record<string, unknown>) {
  return resolveStageConfig(env, stageOverridesFromContext(env, reader(context)));
}

describe('stage options from CDK context', () => {
  it('takes the stage entry of cdk.json "stages" for this environment only', () => {
    const stages = {
      prod: { alarms: { emails: ['oncall@example.com'] }, api: { reservedConcurrency: 20 } },
      dev: { alarms: { emails: ['dev@example.com'] } },
    };
    const prod = stageFromContext('prod', { stages });
    expect(prod.alarms.emails).toEqual(['oncall@example.com']);
    expect(prod.api).toMatchObject({ reservedConcurrency: 20, throttleRateLimit: 1000 });
    expect(stageFromContext('staging', { stages }).alarms.emails).toEqual([]);
  });

  it('reads "stages" given as a JSON string on the command line', () => {
    const prod = stageFromContext('prod', {
      stages: '{"prod": {"alarms": {"httpsEndpoints": ["https://hooks.example.com/a"]}}}',
    });
    expect(prod.alarms.httpsEndpoints).toEqual(['https://hooks.example.com/a']);
  });

  it('sets alarm subscriptions from comma-separated -c alarmEmail and -c alarmHttpsEndpoint', () => {
    const prod = stageFromContext('prod', {
      alarmEmail: 'a@example.com, b@example.com',
      alarmHttpsEndpoint: 'https://hooks.example.com/a',
    });
    expect(prod.alarms).toEqual({
      emails: ['a@example.com', 'b@example.com'],
      httpsEndpoints: ['https://hooks.example.com/a'],
    });
  });

  it('sets a JWT authorizer from -c authorization, jwtIssuer, jwtAudience and the scopes', () => {
    const dev = stageFromContext('dev', {
      authorization: 'jwt',
      jwtIssuer: 'https://issuer.example.com',
      jwtAudience: 'fstore,fstore-batch',
      jwtPushScopes: 'fstore/push, fstore/push-orders',
      jwtLookupScopes: 'fstore/read',
    });
    expect(dev.api).toMatchObject({
      authorization: 'jwt',
      jwtIssuer: 'https://issuer.example.com',
      jwtAudience: ['fstore', 'fstore-batch'],
      jwtPushScopes: ['fstore/push', 'fstore/push-orders'],
      jwtLookupScopes: ['fstore/read'],
      throttleRateLimit: 100,
    });
  });

  it('rejects a JWT from context without push scopes, naming the field', () => {
    expect(() =>
      stageFromContext('dev', {
        authorization: 'jwt',
        jwtIssuer: 'https://issuer.example.com',
        jwtAudience: 'fstore',
      }),
    ).toThrow('stage config "dev": api.jwtPushScopes: required when authorization is "jwt"');
  });

  it('lets a -c key override the same option in "stages", field by field', () => {
    const prod = stageFromContext('prod', {
      stages: {
        prod: {
          alarms: { emails: ['old@example.com'], httpsEndpoints: ['https://hooks.example.com/a'] },
        },
      },
      alarmEmail: 'new@example.com',
    });
    expect(prod.alarms).toEqual({
      emails: ['new@example.com'],
      httpsEndpoints: ['https://hooks.example.com/a'],
    });
  });

  it('rejects a JWT from context without its issuer, naming stage and field', () => {
    expect(() =>
      stageFromContext('dev', { authorization: 'jwt', jwtAudience: 'a', jwtPushScopes: 'p' }),
    ).toThrow('stage config "dev": api.jwtIssuer: required when authorization is "jwt"');
  });

  it('rejects an unknown authorization from context', () => {
    expect(() => stageFromContext('dev', { authorization: 'basic' })).toThrow(
      'stage config "dev": api.authorization:',
    );
  });

  it('rejects a misspelled field in a "stages" entry', () => {
    expect(() =>
      stageFromContext('prod', { stages: { prod: { alarmEmails: ['a@b.co'] } } }),
    ).toThrow('stage config "prod": config: Unrecognized key: "alarmEmails"');
  });

  it('rejects "stages" that is not JSON or not an object, naming the context key', () => {
    expect(() => stageFromContext('prod', { stages: '{prod:' })).toThrow(
      'context "stages": not valid JSON',
    );
    expect(() => stageFromContext('prod', { stages: ['prod'] })).toThrow(
      'context "stages": must be an object keyed by environment name',
    );
    expect(() => stageFromContext('prod', { stages: { prod: 'retain' } })).toThrow(
      'context "stages.prod": must be an object of stage config fields, got "retain"',
    );
  });

  it('refuses a stage name inside "stages", which -c env decides', () => {
    expect(() => stageFromContext('prod', { stages: { prod: { name: 'dev' } } })).toThrow(
      'context "stages.prod.name": the environment name comes from -c env=<name>',
    );
  });

  it('ignores keys that are unset or empty', () => {
    const prod = stageFromContext('prod', { alarmEmail: '', jwtIssuer: undefined });
    expect(prod).toEqual(resolveStageConfig('prod'));
  });
});
