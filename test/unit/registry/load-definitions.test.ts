import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DefinitionError } from '../../../lib/definitions/index.ts';
import {
  compileRegistry,
  DefinitionsLoadError,
  listDefinitionFiles,
  loadDefinitions,
} from '../../../lib/registry/index.ts';
import { issuesOf } from '../../helpers/definition-issues.ts';
import { makeTempDir, repoRoot, writeDefs } from '../../helpers/run-fstore.ts';

const fixture = (name: string) => path.join(repoRoot, 'test', 'fixtures', name);

/** What loading `dir` rejected with. */
async function loadError(dir: string): Promise<unknown> {
  try {
    await loadDefinitions(dir);
  } catch (error) {
    return error;
  }
  throw new Error(`expected loading ${dir} to fail`);
}

describe('loadDefinitions', () => {
  it('loads exported definitions and exported arrays, skipping _files, .spec.ts and other files', async () => {
    const dir = fixture('defs-valid');
    expect(await listDefinitionFiles(dir)).toEqual(['nested/services.mts', 'views.ts']);
    const loaded = await loadDefinitions(dir);
    expect(loaded.map((l) => [l.definition.kind, l.definition.name, l.file])).toEqual([
      ['featureService', 'model', 'nested/services.mts'],
      ['featureView', 'profile', 'views.ts'],
      ['featureView', 'age_only', 'views.ts'],
    ]);
  });

  it('shares one module cache, so an entity imported by several files is one object', async () => {
    const loaded = await loadDefinitions(fixture('defs-valid'));
    const entities = loaded.flatMap((l) =>
      l.definition.kind === 'featureView' ? l.definition.entities : [],
    );
    expect(entities).toHaveLength(2);
    expect(entities[0]).toBe(entities[1]);
  });

  it('feeds the compiler, which registers definitions from skipped files under the files using them', async () => {
    const registry = compileRegistry(await loadDefinitions(fixture('defs-valid')));
    expect(registry.entities.map((e) => [e.name, e.definedIn])).toEqual([['customer', 'views.ts']]);
    expect(registry.sources.map((s) => [s.name, s.definedIn])).toEqual([['profiles', 'views.ts']]);
    expect(registry.featureServices.map((s) => [s.name, s.definedIn])).toEqual([
      ['model', 'nested/services.mts'],
    ]);
    expect(registry.featureViews.map((v) => [v.name, v.definedIn])).toEqual([
      ['age_only', 'views.ts'],
      ['profile', 'views.ts'],
    ]);
  });

  it('reports a file throwing an Error as one line naming the file, with a fix and the cause', async () => {
    const error = await loadError(fixture('defs-throws'));
    expect(error).toBeInstanceOf(DefinitionsLoadError);
    const loadFailure = error as DefinitionsLoadError;
    expect(loadFailure.message).toBe('throws.ts failed to load: cannot reach the schema service');
    expect(loadFailure.hint).toBe(
      'fix the error in that file (run with --verbose for the stack trace)',
    );
    expect((loadFailure.cause as Error).message).toBe('cannot reach the schema service');
  });

  it('names the error type when a file throws something other than a plain Error', async () => {
    const dir = await writeDefs({ 'throws.ts': "throw new TypeError('no schema');\n" });
    await expect(loadDefinitions(dir)).rejects.toThrow(
      'throws.ts failed to load: TypeError: no schema',
    );
  });

  it('reports a DefinitionError with the file it came from, keeping every issue', async () => {
    const error = await loadError(fixture('defs-invalid'));
    expect(error).toBeInstanceOf(DefinitionError);
    const issues = (error as DefinitionError).issues;
    expect(issues.map((i) => [i.file, i.definition, i.field])).toEqual([
      ['entities.ts', 'entity "Customer"', 'name'],
      ['entities.ts', 'entity "Customer"', 'joinKeys[customer_id].type'],
    ]);
    expect((error as Error).message).toContain(
      'entities.ts:4: entity "Customer" field "name": "Customer" is not a valid identifier',
    );
    expect((error as Error).message).not.toMatch(/\n\s+at /);
  });

  it('blames an invalid definition on the imported file that holds it', async () => {
    const error = await loadError(fixture('defs-imports-invalid'));
    expect(error).toBeInstanceOf(DefinitionError);
    expect((error as DefinitionError).issues).toEqual([
      expect.objectContaining({
        file: 'b_views.ts',
        definition: 'feature view "profile"',
        field: 'ttl',
        message: '"3x" is not a duration',
      }),
    ]);
  });

  it('names both files when an imported file throws', async () => {
    const error = await loadError(fixture('defs-imports-throwing'));
    expect((error as Error).message).toBe(
      'b_settings.ts (imported by a_main.ts) failed to load: settings file is broken',
    );
  });

  it('reports a syntax error as one line with file, line and column', async () => {
    const dir = await writeDefs({ 'broken.ts': 'export const x = {;\n' });
    const error = await loadError(dir);
    expect(error).toBeInstanceOf(DefinitionsLoadError);
    expect((error as Error).message).toMatch(
      /^broken\.ts failed to load: broken\.ts:1:\d+: ERROR: \S/,
    );
    expect((error as Error).message).not.toContain('\n');
    expect((error as Error).message).not.toContain(dir);
    expect((error as Error).cause).toBeDefined();
  });

  it('reports a syntax error in an imported file with that file and its location', async () => {
    const dir = await writeDefs({
      'a_main.ts': "import { x } from './b_broken.ts';\nexport const y = x;\n",
      'b_broken.ts': 'export const x = ;\n',
    });
    const error = await loadError(dir);
    expect((error as Error).message).toMatch(
      /^b_broken\.ts \(imported by a_main\.ts\) failed to load: b_broken\.ts:1:\d+: ERROR: \S/,
    );
  });

  it('loads the same view name from two files, and compiling names both files', async () => {
    const loaded = await loadDefinitions(fixture('defs-duplicate'));
    expect(loaded.map((l) => [l.definition.name, l.file])).toEqual([
      ['profile', 'a_profile.ts'],
      ['profile', 'b_profile.ts'],
    ]);
    expect(issuesOf(() => compileRegistry(loaded))).toEqual([
      {
        definition: 'feature view "profile"',
        field: 'name',
        message: 'is defined twice (a_profile.ts and b_profile.ts)',
        hint: 'rename one of them or delete the copy; names are unique per kind',
        file: 'b_profile.ts',
      },
    ]);
  });

  it('refuses a missing folder with a hint', async () => {
    const missing = fixture('defs-missing');
    const error = await loadError(missing);
    expect(error).toBeInstanceOf(DefinitionsLoadError);
    expect((error as DefinitionsLoadError).message).toBe(
      `definitions folder ${missing} does not exist`,
    );
    expect((error as DefinitionsLoadError).hint).toBe(
      'run from the project folder or pass --defs <path>',
    );
  });

  it('refuses a file given instead of a folder', async () => {
    await expect(loadDefinitions(path.join(fixture('defs-valid'), 'views.ts'))).rejects.toThrow(
      'does not exist',
    );
  });

  it('refuses a folder without definition files', async () => {
    const error = await loadError(fixture('defs-empty'));
    expect(error).toBeInstanceOf(DefinitionsLoadError);
    expect((error as Error).message).toBe(
      `definitions folder ${fixture('defs-empty')} has no .ts or .js files`,
    );
    expect((error as DefinitionsLoadError).hint).toContain('defineFeatureView');
  });

  it('refuses an empty folder', async () => {
    const empty = await makeTempDir('empty');
    await mkdir(path.join(empty, 'sub'));
    await expect(loadDefinitions(empty)).rejects.toThrow('has no .ts or .js files');
  });
});
