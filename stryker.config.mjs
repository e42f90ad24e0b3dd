// Mutation testing of the data-path code (issue 14, section 4): `npm run test:mutation`.
// A run over all four directories takes hours on a 2-core machine; mutate one with
// `npx stryker run --mutate 'lib/sql/**/*.ts'`. docs/testing.md has the figures.
/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: 'vitest',
  vitest: { configFile: 'vitest.mutation.config.ts' },
  mutate: [
    'lib/sql/**/*.ts',
    'lib/online/**/*.ts',
    'lib/materialize/**/*.ts',
    'lib/offline/**/*.ts',
  ],
  coverageAnalysis: 'perTest',
  // Results are kept in a committed file so that a later run, in any session, tests only the
  // mutants whose code or covering tests changed.
  incremental: true,
  incrementalFile: 'test/mutation/stryker-incremental.json',
  // Two shared cores: one worker per core; a busy machine needs a generous timeout before a
  // slow mutant counts as an infinite loop.
  concurrency: 2,
  timeoutMS: 30_000,
  timeoutFactor: 3,
  dryRunTimeoutMinutes: 60,
  plugins: ['@stryker-mutator/vitest-runner', './test/mutation/survivor-log-reporter.mjs'],
  // survivor-log: reports/mutation/survivors.jsonl, each surviving mutant as soon as it is tested.
  reporters: ['clear-text', 'progress-append-only', 'html', 'json', 'survivor-log'],
  htmlReporter: { fileName: 'reports/mutation/mutation.html' },
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  thresholds: { high: 90, low: 80, break: null },
  ignorePatterns: ['.fstore', 'cdk.out', 'coverage', 'reports', 'bench', 'docs', '.ci'],
  tempDirName: '.stryker-tmp',
  cleanTempDir: 'always',
};
