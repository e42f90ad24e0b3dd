import { describe, expect, it } from 'vitest';
import { resolveStageConfig } from '../../lib/config/stages.ts';

describe('stage config: default retention of the offline store', () => {
  it('keeps rows forever by default, in dev and prod', () => {
    expect(resolveStageConfig('dev').offline.retention).toBeUndefined();
    expect(resolveStageConfig('prod').offline.retention).toBeUndefined();
  });

  it('takes a duration for the sources that declare none', () => {
    expect(resolveStageConfig('prod', { offline: { retention: '730d' } }).offline.retention).toBe(
      '730d',
    );
  });

  it.each(['0d', '2y', '730'])('rejects "%s", naming the stage and the field', (text) => {
    expect(() => resolveStageConfig('dev', { offline: { retention: text } })).toThrow(
      `stage config "dev": offline.retention: "${text}" is not a duration`,
    );
  });
});
