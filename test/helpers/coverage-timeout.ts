/**
 * How many times longer a test may take when the suite runs under coverage
 * (`npm run test:coverage`): every process a test starts then runs the CLI from its TypeScript
 * sources and writes raw V8 coverage of each module it loaded on exit. Measured on start.test.ts
 * (three CLI runs): 1.6 times the CPU of a run without coverage, and over 60 s of wall clock
 * where the run without coverage took 15-21 s at the same load.
 */
export const coverageSlowdown = 3;

/**
 * `ms`, or `coverageSlowdown` times it when this process records the coverage of the processes it
 * starts: the coverage run's setup file (scripts/coverage/child-coverage-env.ts) sets
 * NODE_V8_COVERAGE in each test worker before the test file is read.
 */
export function timeoutUnderCoverage(
  ms: number,
  env: Readonly<Record<string, string | undefined>> = process.env,
): number {
  return env.NODE_V8_COVERAGE ? ms * coverageSlowdown : ms;
}
