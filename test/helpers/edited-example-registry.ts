import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { compileRegistry, loadDefinitions, type Registry } from '../../lib/registry/index.ts';
import { repoRoot, writeDefs } from './run-fstore.ts';

/** One text edit of an example definitions file, as a user would make it. */
export interface DefinitionEdit {
  readonly file: string;
  readonly from: string;
  readonly to: string;
}

/**
 * The example feature-defs/ copied to a temporary folder with `edits` applied (each must
 * match, so a test cannot go on comparing unedited definitions after the examples change),
 * plus `extraFiles` (new definition files, importing `fstore:definitions`), then compiled.
 */
export async function editedExampleRegistry(
  edits: readonly DefinitionEdit[] = [],
  extraFiles: Readonly<Record<string, string>> = {},
): Promise<Registry> {
  const dir = path.join(repoRoot, 'feature-defs');
  const files: Record<string, string> = {};
  for (const name of await readdir(dir))
    files[name] = (await readFile(path.join(dir, name), 'utf8')).replaceAll(
      '../lib/definitions/index.ts',
      'fstore:definitions',
    );
  for (const edit of edits) {
    const text = files[edit.file];
    if (text === undefined) throw new Error(`feature-defs/${edit.file} does not exist`);
    if (!text.includes(edit.from))
      throw new Error(`feature-defs/${edit.file} no longer contains ${JSON.stringify(edit.from)}`);
    files[edit.file] = text.replaceAll(edit.from, edit.to);
  }
  return compileRegistry(await loadDefinitions(await writeDefs({ ...files, ...extraFiles })));
}
