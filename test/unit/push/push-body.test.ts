import { describe, expect, it } from 'vitest';
import { pushBodyShape } from '../../../lib/push/push-body.ts';

const limits = { maxRows: 3, maxBodyBytes: 1_000, maxFutureSkewSeconds: 300 };

describe('pushBodyShape', () => {
  it('takes rows and to, and sends rows online and offline by default', () => {
    expect(pushBodyShape({ rows: [{}] }, limits)).toEqual({ rows: [{}], to: 'online_and_offline' });
    expect(pushBodyShape({ rows: [{}, {}, {}], to: 'online' }, limits).to).toBe('online');
  });

  it.each([
    ['a list', [], '$'],
    ['null', null, '$'],
    ['an unknown key', { rows: [{}], mode: 'append' }, '$.mode'],
    ['rows that are not a list', { rows: {} }, '$.rows'],
    ['no rows', { to: 'online' }, '$.rows'],
    ['an unknown target', { rows: [{}], to: 'both' }, '$.to'],
  ])('rejects %s with 400 INVALID_BODY and its path', (_, body, path) => {
    expect(() => pushBodyShape(body, limits)).toThrow(
      expect.objectContaining({ status: 400, code: 'INVALID_BODY', details: { path } }),
    );
  });

  it('rejects an empty rows list with 400 EMPTY_PUSH', () => {
    expect(() => pushBodyShape({ rows: [] }, limits)).toThrow(
      expect.objectContaining({ status: 400, code: 'EMPTY_PUSH' }),
    );
  });

  it('rejects more rows than the limit with 413 naming the limit', () => {
    expect(() => pushBodyShape({ rows: [{}, {}, {}, {}] }, limits)).toThrow(
      expect.objectContaining({
        status: 413,
        code: 'TOO_MANY_ROWS',
        details: { path: '$.rows', limit: 3, rows: 4 },
      }),
    );
  });
});
