import { describe, expect, it } from 'vitest';
import { isThrottle } from '../../../lib/online/conditional-puts.ts';

describe('which DynamoDB errors count as throttling (retried with backoff)', () => {
  it('knows the throttling exceptions by name', () => {
    for (const name of [
      'ProvisionedThroughputExceededException',
      'ThrottlingException',
      'RequestLimitExceeded',
    ])
      expect(isThrottle(Object.assign(new Error('slow down'), { name })), name).toBe(true);
  });

  it('trusts the SDK marking an error of another name as a throttle', () => {
    const marked = Object.assign(new Error('rate exceeded'), {
      name: 'TransactionInProgressException',
      $retryable: { throttling: true },
    });
    expect(isThrottle(marked)).toBe(true);
  });

  it('does not retry other errors, retryable or not', () => {
    expect(isThrottle(new Error('ValidationException'))).toBe(false);
    const retryable = Object.assign(new Error('socket hang up'), {
      name: 'TimeoutError',
      $retryable: { throttling: false },
    });
    expect(isThrottle(retryable)).toBe(false);
    expect(isThrottle({})).toBe(false);
  });
});
