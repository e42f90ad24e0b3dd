import { realpathSync, statSync, utimesSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildCliBundle, freshCliBundle, repoRoot } from '../../bin/cli-bundle.mjs';

describe('the CLI bundle built from sources dated ahead of the clock', () => {
  it('builds, and is fresh afterwards, when a source is dated two hours ahead', async () => {
    // A file of this area (the bundle includes it); its mtime is put back after.
    const source = path.join(repoRoot, 'lib', 'registry', 'load-definitions.ts');
    const { atime, mtime } = statSync(source);
    const twoHoursAhead = new Date(Date.now() + 2 * 60 * 60 * 1000);
    utimesSync(source, twoHoursAhead, twoHoursAhead);
    try {
      const built = await buildCliBundle();
      expect(freshCliBundle()).toEqual({ dir: realpathSync(built) });
    } finally {
      utimesSync(source, atime, mtime);
    }
  });
});
