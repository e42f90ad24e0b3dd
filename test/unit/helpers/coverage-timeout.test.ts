import { describe, expect, it } from 'vitest';
import { coverageSlowdown, timeoutUnderCoverage } from '../../helpers/coverage-timeout.ts';

describe('a test timeout under coverage', () => {
  it('is the timeout given when the processes a test starts record no coverage', () => {
    expect(timeoutUnderCoverage(60_000, {})).toBe(60_000);
    expect(timeoutUnderCoverage(60_000, { NODE_V8_COVERAGE: '' })).toBe(60_000);
  });

  it('is scaled when they write raw V8 coverage (NODE_V8_COVERAGE, as the coverage run sets it)', () => {
    expect(timeoutUnderCoverage(60_000, { NODE_V8_COVERAGE: '/tmp/children-raw' })).toBe(
      60_000 * coverageSlowdown,
    );
    expect(coverageSlowdown).toBeGreaterThan(1);
  });
});
