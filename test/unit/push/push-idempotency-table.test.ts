import { describe, expect, it } from 'vitest';
import {
  defaultIdempotencyExpirySeconds,
  localIdempotencyExpirySeconds,
} from '../../../lib/push/push-idempotency-table.ts';

describe('localIdempotencyExpirySeconds (FSTORE_PUSH_IDEMPOTENCY_EXPIRY_SECONDS)', () => {
  it('is the default without the setting and the setting up to one day', () => {
    expect(localIdempotencyExpirySeconds({})).toBe(defaultIdempotencyExpirySeconds);
    expect(localIdempotencyExpirySeconds({ FSTORE_PUSH_IDEMPOTENCY_EXPIRY_SECONDS: '86400' })).toBe(
      86_400,
    );
  });

  it('refuses an expiry over one day, naming the setting (the ledger of ingested pushes keeps a day)', () => {
    expect(() =>
      localIdempotencyExpirySeconds({ FSTORE_PUSH_IDEMPOTENCY_EXPIRY_SECONDS: '604800' }),
    ).toThrow(/FSTORE_PUSH_IDEMPOTENCY_EXPIRY_SECONDS .*at most 86400.*got "604800"/);
  });

  it('refuses a value that is not a whole number of seconds', () => {
    expect(() =>
      localIdempotencyExpirySeconds({ FSTORE_PUSH_IDEMPOTENCY_EXPIRY_SECONDS: '1.5' }),
    ).toThrow(/FSTORE_PUSH_IDEMPOTENCY_EXPIRY_SECONDS/);
  });
});
