import { describe, expect, it } from 'vitest';
import { pushCaller } from '../../../lib/push/push-caller.ts';
import { scopedPushId } from '../../../lib/push/push-id.ts';

describe('pushCaller (who scopes an Idempotency-Key)', () => {
  it('names an assumed role without its session, so renewed credentials are the same caller', () => {
    const arn = (session: string) => ({
      iam: { userArn: `arn:aws:sts::123456789012:assumed-role/producer/${session}` },
    });
    expect(pushCaller(arn('task-1'))).toBe('iam:arn:aws:sts::123456789012:assumed-role/producer');
    expect(pushCaller(arn('task-2'))).toBe(pushCaller(arn('task-1')));
  });

  it('names an IAM user by its ARN, and two users apart', () => {
    const user = (name: string) => ({ iam: { userArn: `arn:aws:iam::123456789012:user/${name}` } });
    expect(pushCaller(user('a'))).toBe('iam:arn:aws:iam::123456789012:user/a');
    expect(pushCaller(user('a'))).not.toBe(pushCaller(user('b')));
  });

  it('falls back to the account and the caller id without its session name', () => {
    expect(
      pushCaller({ iam: { accountId: '123456789012', callerId: 'AROAEXAMPLE:session-9' } }),
    ).toBe('iam:123456789012:AROAEXAMPLE');
  });

  it('names a JWT caller by issuer and subject', () => {
    expect(pushCaller({ jwt: { claims: { iss: 'https://idp', sub: 'svc-1' } } })).toBe(
      'jwt:https://idp svc-1',
    );
  });

  it('is unknown without an authorizer context (the local server)', () => {
    expect(pushCaller(undefined)).toBeUndefined();
    expect(pushCaller({ iam: {} })).toBeUndefined();
  });
});

describe('scopedPushId', () => {
  const rows = [{ customer_id: 'C1', amount: 1, event_ts: '2026-03-01T11:00:00Z' }];
  const base = { key: 'k-1', source: 'payments', caller: 'iam:a', to: 'both', rows };

  it('is one id per (key, source, caller) and differs when any of them does', () => {
    expect(scopedPushId(base)).toMatch(/^[0-9a-f]{32}$/);
    expect(scopedPushId({ ...base })).toBe(scopedPushId(base));
    expect(scopedPushId({ ...base, key: 'k-2' })).not.toBe(scopedPushId(base));
    expect(scopedPushId({ ...base, source: 'audit' })).not.toBe(scopedPushId(base));
    expect(scopedPushId({ ...base, caller: 'iam:b' })).not.toBe(scopedPushId(base));
    const { caller: _, ...uncalled } = base;
    expect(scopedPushId(uncalled)).not.toBe(scopedPushId(base));
  });

  it('keeps a retry with the keys of its rows in another order on the same id', () => {
    const reordered = [{ event_ts: '2026-03-01T11:00:00Z', amount: 1, customer_id: 'C1' }];
    expect(scopedPushId({ ...base, rows: reordered })).toBe(scopedPushId(base));
  });

  it('gives the same key with other rows or another target another id (another push)', () => {
    const other = [{ customer_id: 'C2', amount: 1, event_ts: '2026-03-01T11:00:00Z' }];
    expect(scopedPushId({ ...base, rows: other })).not.toBe(scopedPushId(base));
    expect(scopedPushId({ ...base, rows: [...rows, ...rows] })).not.toBe(scopedPushId(base));
    expect(scopedPushId({ ...base, to: 'offline' })).not.toBe(scopedPushId(base));
  });
});
