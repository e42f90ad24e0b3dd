// A setup file of vitest.coverage.config.ts. Setting NODE_V8_COVERAGE here, inside the test
// worker, leaves the worker's own coverage to vitest and makes every process that a test starts
// (the CLI, servers, and their children, which inherit the variable) write raw V8 coverage there.
// scripts/coverage.sh sets FSTORE_CHILD_COVERAGE_DIR to a shard's own folder.
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
process.env.NODE_V8_COVERAGE =
  process.env.FSTORE_CHILD_COVERAGE_DIR ?? path.join(repoRoot, 'coverage', 'children-raw');
