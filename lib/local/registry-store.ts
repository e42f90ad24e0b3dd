import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { appliedRegistryPath, registryHistoryDir } from '../data-paths.ts';
import { type Registry, serializeRegistry } from '../registry/index.ts';
import { parseRegistryText } from '../registry/parse-registry.ts';
import { replaceFile } from '../replace-file.ts';

/** Reads and validates a registry JSON file; undefined when the file does not exist. */
export async function readRegistryFile(file: string): Promise<Registry | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  return parseRegistryText(text, file, registryFileHint);
}

const registryFileHint =
  'point at a registry JSON written by `fstore apply`, `fstore validate --out` or `fstore plan --save-deployed`; an applied registry can be restored from registry-history/ or deleted to start over';

export function readAppliedRegistry(dataDir: string, env: string): Promise<Registry | undefined> {
  return readRegistryFile(appliedRegistryPath(dataDir, env));
}

/**
 * Records `registry` as the applied one for `env`. The write is atomic (temp file + rename),
 * so a crash leaves either the old or the new registry, and every applied version is kept
 * in registry-history/.
 */
export async function writeAppliedRegistry(
  dataDir: string,
  env: string,
  registry: Registry,
): Promise<string> {
  const target = appliedRegistryPath(dataDir, env);
  const history = registryHistoryDir(dataDir, env);
  await mkdir(history, { recursive: true });
  const bytes = serializeRegistry(registry);
  await writeFile(path.join(history, `${registry.version}.json`), bytes);
  await replaceFile(target, bytes);
  return target;
}
