import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildCliBundle, freshCliBundle } from '../../../bin/cli-bundle.mjs';
import { makeTempDir } from '../../helpers/run-fstore.ts';

/** A source tree of two files and a bundle folder whose manifest records them as built. */
async function builtTree() {
  const root = await makeTempDir('bundle-root');
  const dir = path.join(root, 'bundle');
  await mkdir(path.join(root, 'lib'), { recursive: true });
  await mkdir(dir);
  const inputs: Record<string, unknown> = {};
  for (const [file, text] of [
    ['lib/a.ts', 'export const a = 1;\n'],
    ['lib/b.ts', 'export const b = 2;\n'],
  ] as const) {
    await writeFile(path.join(root, file), text);
    const info = await stat(path.join(root, file));
    inputs[file] = {
      size: info.size,
      mtimeMs: info.mtimeMs,
      sha256: createHash('sha256').update(text).digest('hex'),
    };
  }
  await writeFile(path.join(dir, 'manifest.json'), JSON.stringify({ inputs }));
  return { root, dir };
}

describe('the CLI bundle is used only when built from the sources as they are', () => {
  it('is fresh when every source has the size, mtime or content it was built from', async () => {
    const tree = await builtTree();
    expect(freshCliBundle(tree)).toEqual({ dir: tree.dir });
    // A checkout moves mtimes without changing content: still fresh, by content.
    const later = new Date(Date.now() + 60_000);
    await utimes(path.join(tree.root, 'lib/a.ts'), later, later);
    expect(freshCliBundle(tree)).toEqual({ dir: tree.dir });
  });

  it('is stale when a source changed, even with the same size, and names the file', async () => {
    const tree = await builtTree();
    await writeFile(path.join(tree.root, 'lib/b.ts'), 'export const b = 3;\n');
    expect(freshCliBundle(tree)).toEqual({
      reason: 'the CLI bundle is older than its sources: lib/b.ts changed',
    });
  });

  it('is stale when a source was deleted', async () => {
    const tree = await builtTree();
    await rm(path.join(tree.root, 'lib/a.ts'));
    expect(freshCliBundle(tree).reason).toBe(
      'the CLI bundle is older than its sources: lib/a.ts (deleted) changed',
    );
  });

  it('is missing without a manifest, and refused with an unreadable or empty one', async () => {
    const tree = await builtTree();
    const manifest = path.join(tree.dir, 'manifest.json');
    const text = await readFile(manifest, 'utf8');
    await writeFile(manifest, text.slice(0, 20));
    expect(freshCliBundle(tree).reason).toMatch(/^the CLI bundle's manifest is unreadable \(/);
    await writeFile(manifest, '{"inputs":{}}');
    expect(freshCliBundle(tree).reason).toBe("the CLI bundle's manifest lists no sources");
    await rm(manifest);
    expect(freshCliBundle(tree)).toEqual({ reason: 'the CLI bundle is not built' });
  });
  it('is stale when a module was added to lib/definitions, which feature-defs may import', async () => {
    const tree = await builtTree();
    await mkdir(path.join(tree.root, 'lib', 'definitions'), { recursive: true });
    await writeFile(path.join(tree.root, 'lib', 'definitions', 'window.ts'), 'export {};\n');
    expect(freshCliBundle(tree).reason).toBe(
      'the CLI bundle is older than its sources: lib/definitions/window.ts (added) changed',
    );
  });

  it('keeps the folder a running CLI loads its chunks from when a rebuild replaces it', async () => {
    const first = await buildCliBundle();
    const second = await buildCliBundle();
    expect(second).not.toBe(first);
    expect(existsSync(path.join(first, 'lib', 'cli', 'run-cli.mjs'))).toBe(true);
    const fresh = freshCliBundle();
    // Another test file's rebuild may have run meanwhile: the link names a newer build then.
    if (fresh.dir !== second) expect(fresh.dir).toMatch(/fstore-cli\/build-/);
    else expect(fresh.dir).toBe(second);
  }, 120_000);
});
