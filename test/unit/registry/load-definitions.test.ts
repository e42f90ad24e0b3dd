import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DefinitionError } from '../../../lib/definitions/index.ts';
import {
  DefinitionsLoadError,
  listDefinitionFiles,
  loadDefinitions,
} from '../../../lib/registry/index.ts';
import { makeTempDir, writeDefs } from '../../helpers/run-fstore.ts';

const entityFile = (name: string) => `
import { defineEntity } from 'fstore:definitions';
export const e = defineEntity({ name: '${name}', joinKeys: [{ name: 'id', type: 'string' }] });
`;

describe('loadDefinitions', () => {
  it('loads exported definitions and exported arrays of definitions, skipping tests and _files', async () => {
    const dir = await writeDefs({
      'a.ts': entityFile('alpha'),
      'nested/b.mts': `
import { defineEntity } from 'fstore:definitions';
export const all = [defineEntity({ name: 'beta', joinKeys: [{ name: 'id', type: 'string' }] })];
export const notADefinition = 42;
`,
      '_draft.ts': entityFile('draft'),
      'a.test.ts': entityFile('test_only'),
    });
    expect(await listDefinitionFiles(dir)).toEqual(['a.ts', 'nested/b.mts']);
    const loaded = await loadDefinitions(dir);
    expect(loaded.map((l) => [l.definition.name, l.file])).toEqual([
      ['alpha', 'a.ts'],
      ['beta', 'nested/b.mts'],
    ]);
  });

  it('reports a definition error with the file it came from', async () => {
    const dir = await writeDefs({ 'bad.ts': entityFile('Bad') });
    const error = await loadDefinitions(dir).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DefinitionError);
    expect((error as DefinitionError).issues[0]).toMatchObject({
      file: 'bad.ts',
      definition: 'entity "Bad"',
      field: 'name',
    });
    expect((error as DefinitionError).message).toContain('bad.ts: entity "Bad" field "name"');
  });

  it('reports a syntax error as one line with file, line and column', async () => {
    const dir = await writeDefs({ 'broken.ts': 'export const x = {;\n' });
    const error = await loadDefinitions(dir).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DefinitionsLoadError);
    expect((error as Error).message).toMatch(
      /^broken\.ts failed to load: broken\.ts:1:\d+: ERROR: /,
    );
    expect((error as Error).message).not.toContain('\n');
    expect((error as Error).cause).toBeDefined();
  });

  it('reports an error thrown while a file loads', async () => {
    const dir = await writeDefs({ 'throws.ts': "throw new TypeError('no schema');\n" });
    await expect(loadDefinitions(dir)).rejects.toThrow(
      'throws.ts failed to load: TypeError: no schema',
    );
  });

  it('refuses a missing folder and a folder without definition files', async () => {
    await expect(loadDefinitions('/nonexistent/defs')).rejects.toThrow(
      'definitions folder /nonexistent/defs does not exist',
    );
    const empty = await makeTempDir('empty');
    await mkdir(path.join(empty, 'sub'));
    await expect(loadDefinitions(empty)).rejects.toThrow('has no .ts or .js files');
  });
});
