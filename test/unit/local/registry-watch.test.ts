import { mkdtemp, rename, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { readServableRegistry, watchRegistryFile } from '../../../lib/local/registry-watch.ts';
import { serializeRegistry } from '../../../lib/registry/index.ts';
import { onlineRegistry } from '../../helpers/online-registry.ts';

async function registryFile(text: string): Promise<string> {
  const file = path.join(await mkdtemp(path.join(tmpdir(), 'fstore-watch-')), 'registry.json');
  await writeFile(file, text);
  return file;
}

describe('readServableRegistry', () => {
  const { registry } = onlineRegistry();
  const bytes = serializeRegistry(registry);

  it('accepts a registry file as fstore apply writes it', async () => {
    const change = await readServableRegistry(await registryFile(bytes));
    expect(change).toEqual({ kind: 'registry', registry });
  });

  it('refuses a half-written file as incomplete JSON', async () => {
    const change = await readServableRegistry(await registryFile(bytes.slice(0, 200)));
    expect(change).toEqual({
      kind: 'unusable',
      reason: 'it is not valid JSON (incomplete or damaged)',
    });
  });

  it('refuses a registry edited by hand, whose content no longer matches its version', async () => {
    const parsed = JSON.parse(bytes);
    const edited = { ...parsed, featureViews: parsed.featureViews.slice(0, 1) };
    const change = await readServableRegistry(await registryFile(JSON.stringify(edited)));
    expect(change.kind).toBe('unusable');
    expect(change.kind === 'unusable' && change.reason).toContain(
      `does not match its version ${registry.version}`,
    );
  });

  it('refuses JSON that is not a registry, naming the field', async () => {
    const change = await readServableRegistry(await registryFile('{"hello": 1}'));
    expect(change.kind === 'unusable' && change.reason).toMatch(/^it is not an fstore registry \(/);
  });
});

describe('watchRegistryFile', () => {
  it('reports a replaced file once it changes, not the file as it was when watching began', async () => {
    const { registry } = onlineRegistry();
    const file = await registryFile('{}');
    const changes: string[] = [];
    const watcher = watchRegistryFile(file, (change) => changes.push(change.kind), 20);
    try {
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(changes).toEqual([]);
      await writeFile(`${file}.tmp`, serializeRegistry(registry));
      await rename(`${file}.tmp`, file);
      const started = Date.now();
      while (changes.length === 0 && Date.now() - started < 5000)
        await new Promise((resolve) => setTimeout(resolve, 20));
      expect(changes).toEqual(['registry']);
    } finally {
      watcher.close();
    }
  });
});
