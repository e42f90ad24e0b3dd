import { defineConfig, mergeConfig } from 'vitest/config';
import baseConfig from './vitest.config.ts';

// The tests that StrykerJS runs against each mutant. Stryker activates a mutant through a global
// in the test worker, so a test that exercises lib/ only through a child process (the CLI, a
// served process) can never kill one: leaving those out keeps the dry run short. CDK synthesis
// (test/infra) imports none of the mutated directories; validate-data tests lib/quality, half of
// it through the CLI. Stryker runs every test in one worker on a busy machine: the timeouts are
// three times the default ones.
//
// FSTORE_MUTATION_TESTS (comma-separated globs, e.g. 'test/unit/sql/**/*.test.ts') narrows the
// tests: on the shared machine a mutant of a module every test loads (the dialects) takes minutes
// against the whole set, and no run of lib/sql fitted a session; a narrowed run's score is a floor.
const onlyTests = process.env.FSTORE_MUTATION_TESTS?.split(',').filter((glob) => glob !== '');
const config = mergeConfig(
  baseConfig,
  defineConfig({
    test: {
      exclude: [
        'test/cli/**',
        'test/infra/**',
        'test/integration/damaged-online-store.test.ts',
        'test/integration/http-hostile-clients-process.test.ts',
        'test/unit/local/dynalite-server.test.ts',
        'test/integration/validate-data.test.ts',
      ],
      testTimeout: 180_000,
      hookTimeout: 360_000,
      // Stryker switches mutants on at run time (a global read by the instrumented code), so a
      // module need not be loaded again for each mutant; with isolation every mutant run imported
      // its test files afresh (DuckDB, the compiled example registry: seconds a file), which was
      // most of its time. Static mutants (module-level values) need --ignoreStatic or isolation:
      // FSTORE_MUTATION_ISOLATE=1 restores it.
      isolate: process.env.FSTORE_MUTATION_ISOLATE === '1',
    },
  }),
);
// Set after merging: mergeConfig concatenates arrays, which would keep the base's test/**.
if (onlyTests?.length && config.test) config.test.include = onlyTests;
export default config;
