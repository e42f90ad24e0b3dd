import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Plugin } from 'esbuild';
import { describe, expect, it, vi } from 'vitest';
import { compiledDefinitions } from '../../bin/definitions-cache.mjs';
import { makeTempDir, repoRoot, writeDefs } from '../helpers/run-fstore.ts';

/** Set by a test: a file to rewrite right after esbuild has read it (once). */
let editAfterRead: { file: string; text: string } | undefined;

// The edit must land between esbuild reading a file and the build ending; a plugin placed after
// the cache's own is the only point there, so esbuild's build gets one appended.
vi.mock('esbuild', async (importOriginal) => {
  const esbuild = await importOriginal<typeof import('esbuild')>();
  const editor: Plugin = {
    name: 'test-edit-after-read',
    setup(build) {
      build.onLoad({ filter: /.*/ }, (args) => {
        if (editAfterRead?.file !== args.path) return undefined;
        const contents = readFileSync(args.path, 'utf8');
        writeFileSync(args.path, editAfterRead.text);
        editAfterRead = undefined;
        return { contents, loader: 'ts' };
      });
    },
  };
  return {
    ...esbuild,
    build: (options: import('esbuild').BuildOptions) =>
      esbuild.build({ ...options, plugins: [...(options.plugins ?? []), editor] }),
  };
});

describe('feature-defs compile cache, an input edited while esbuild compiles', () => {
  it('refuses to cache a build whose local module changed after esbuild read it, and compiles the new text next time', async () => {
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
    editAfterRead = {
      file: path.join(defs, '_columns.ts'),
      text: "export const chargeType = 'int64';\n",
    };
    await expect(compiledDefinitions(options)).rejects.toThrow(
      '_columns.ts changed while the definitions were being compiled; run again',
    );
    expect(editAfterRead).toBeUndefined();

    const { urls } = await compiledDefinitions(options);
    const compiled = await import(urls.get('a.ts') as string);
    expect(compiled.chargeType).toBe('int64');
  });
});
