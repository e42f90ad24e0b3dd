import { describe, expect, it } from 'vitest';
import { readLookupConfig } from '../../../lambdas/online-lookup/config.ts';
import {
  defaultDeadlineMarginMs,
  invocationOf,
} from '../../../lambdas/online-lookup/invocation.ts';

const context = (remainingMs: number) => ({
  awsRequestId: 'req-1',
  getRemainingTimeInMillis: () => remainingMs,
});

describe('what an invocation gives its lookup', () => {
  it('keeps the default 500 ms margin of the remaining time when DEADLINE_MARGIN_MS is not set', () => {
    const config = readLookupConfig({ TABLE_NAME: 'abc' });
    const { deadline, requestId } = invocationOf(context(10_000), config);
    expect(defaultDeadlineMarginMs).toBe(500);
    expect(deadline?.budgetMs).toBe(9_500);
    expect(requestId).toBe('req-1');
  });

  it('keeps the default margin when DEADLINE_MARGIN_MS is blank, which Number() would read as 0', () => {
    for (const blank of ['', '  '])
      expect(
        invocationOf(
          context(10_000),
          readLookupConfig({ TABLE_NAME: 'abc', DEADLINE_MARGIN_MS: blank }),
        ).deadline?.budgetMs,
      ).toBe(9_500);
  });

  it('keeps the configured margin, 0 included', () => {
    const at = (margin: string) =>
      invocationOf(
        context(10_000),
        readLookupConfig({ TABLE_NAME: 'abc', DEADLINE_MARGIN_MS: margin }),
      ).deadline?.budgetMs;
    expect(at('0')).toBe(10_000);
    expect(at('5000')).toBe(5_000);
  });

  it('sets no deadline for a context without a clock', () => {
    expect(invocationOf({ awsRequestId: 'req-2' }, {})).toEqual({ requestId: 'req-2' });
  });
});
