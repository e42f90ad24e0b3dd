// Vitest global setup: the CLI tests start `bin/fstore.mjs`, which runs the prebuilt bundle
// when it matches the sources and otherwise the TypeScript sources with a line on stderr.
// Rebuilding a stale bundle here makes every CLI test run the code under test, as users run it,
// and keeps that line out of the stderr the tests compare.
import { buildCliBundle, freshCliBundle } from '../bin/cli-bundle.mjs';

export default async function ensureFreshCliBundle(): Promise<void> {
  if (process.env.FSTORE_CLI_SOURCES === '1' || freshCliBundle().dir) return;
  try {
    await buildCliBundle();
    const check = freshCliBundle();
    if (!check.dir) throw new Error(check.reason);
  } catch (error) {
    // A build that fails (or races another build) leaves the tests on the sources, said once.
    console.warn(
      `CLI tests run from the TypeScript sources: the CLI bundle could not be built (${error instanceof Error ? error.message : String(error)})`,
    );
    process.env.FSTORE_CLI_SOURCES = '1';
  }
}
