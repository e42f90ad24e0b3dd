import path from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { compiledDefinitions } from '../../bin/definitions-cache.mjs';
import { makeTempDir, repoRoot, writeDefs } from '../helpers/run-fstore.ts';

/** Set by a test: another CLI renames the stale build aside just before this one does. */
let anotherCliRenamesFirst = false;

vi.mock('node:fs', async (importOriginal) => {
  const fs = await importOriginal<typeof import('node:fs')>();
  const renameSync: typeof fs.renameSync = (from, to) => {
    if (anotherCliRenamesFirst && /replaced-/.test(String(to))) {
      anotherCliRenamesFirst = false;
      fs.renameSync(from, `${String(to)}-another-cli`);
    }
    fs.renameSync(from, to);
  };
  return { ...fs, default: { ...fs, renameSync }, renameSync };
});

describe('feature-defs compile cache, two CLIs rebuilding one stale build', () => {
  it('installs its rebuild when another CLI renamed the stale build aside first', async () => {
    const defs = await writeDefs({
      '_columns.ts': "export const chargeType = 'float64';\n",
      'a.ts': "export { chargeType } from './_columns.ts';\n",
    });
    const options = {
      root: defs,
      files: ['a.ts'],
      definitions: {
        sourceDir: path.join(repoRoot, 'lib', 'definitions'),
        bundleDir: path.join(defs, 'no-bundle'),
      },
      cacheRoot: await makeTempDir('defs-cache'),
    };
    await compiledDefinitions(options);
    await writeDefs({ '_columns.ts': "export const chargeType = 'int64';\n" }, defs);

    anotherCliRenamesFirst = true;
    const { urls } = await compiledDefinitions(options);
    expect(anotherCliRenamesFirst).toBe(false);
    const compiled = await import(urls.get('a.ts') as string);
    expect(compiled.chargeType).toBe('int64');
  });
});
