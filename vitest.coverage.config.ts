import { defineConfig, mergeConfig } from 'vitest/config';
import baseConfig from './vitest.config.ts';

// `npm run test:coverage` (scripts/coverage.sh): the whole suite, with vitest's V8 coverage of the
// test workers; the processes the tests start record theirs through NODE_V8_COVERAGE, and
// scripts/coverage/report-coverage.ts merges the two (report-shards.ts for a run in shards).
export default mergeConfig(
  baseConfig,
  defineConfig({
    test: {
      setupFiles: ['scripts/coverage/child-coverage-env.ts'],
      // At most two test files at once, whatever the machine: the suite's CLI tests start many
      // processes each, and this machine's two cores are shared.
      maxWorkers: 2,
      coverage: {
        enabled: true,
        provider: 'v8',
        include: ['lib/**/*.ts'],
        reporter: [['json', { file: 'coverage-final.json' }]],
        reportsDirectory: 'coverage/in-process',
        reportOnFailure: true,
      },
    },
  }),
);
