import { describe, expect, it } from 'vitest';
import { readPushCompactionConfig } from '../../../lambdas/push-compaction/config.ts';
import { PushIngestRun } from '../../../lib/offline/push-ingest-run.ts';

const env = (extra: Record<string, string>) => ({
  OFFLINE_BUCKET: 'b-1',
  AWS_REGION: 'eu-west-1',
  ...extra,
});

describe('push-compaction configuration: MAX_SET_ASIDE', () => {
  it('defaults to 10 and takes a whole number from 1 to 1000', () => {
    expect(readPushCompactionConfig(env({})).maxSetAside).toBe(10);
    expect(readPushCompactionConfig(env({ MAX_SET_ASIDE: '1' })).maxSetAside).toBe(1);
    expect(readPushCompactionConfig(env({ MAX_SET_ASIDE: '1000' })).maxSetAside).toBe(1000);
  });

  it.each(['0', '-3', '2.5', '1001', 'ten', ''])(
    'refuses %j, naming the variable and the allowed range',
    (value) => {
      expect(() => readPushCompactionConfig(env({ MAX_SET_ASIDE: value }))).toThrow(
        /MAX_SET_ASIDE: must be a whole number from 1 to 1000, not "/,
      );
    },
  );
});

describe('push-compaction configuration: MAX_OBJECTS', () => {
  it('defaults to 1000 and takes a whole number from 1 to 10000', () => {
    expect(readPushCompactionConfig(env({})).maxObjects).toBe(1000);
    expect(readPushCompactionConfig(env({ MAX_OBJECTS: '10000' })).maxObjects).toBe(10_000);
  });

  it.each(['0', '-1', '1.5', '10001', 'many'])(
    'refuses %j, naming the variable and the allowed range',
    (value) => {
      expect(() => readPushCompactionConfig(env({ MAX_OBJECTS: value }))).toThrow(
        /MAX_OBJECTS: must be a whole number from 1 to 10000, not "/,
      );
    },
  );
});

describe('a push ingest run', () => {
  it.each([0, 1001, 2.5])('refuses maxSetAside %j before creating its folder', async (value) => {
    await expect(PushIngestRun.open({ maxSetAside: value })).rejects.toThrow(
      /maxSetAside must be a whole number from 1 to 1000/,
    );
  });
});
