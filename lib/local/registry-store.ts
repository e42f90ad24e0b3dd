import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { appliedRegistryPath, registryHistoryDir } from '../data-paths.ts';
import { HintedError } from '../hinted-error.ts';
import { type Registry, registrySchema, serializeRegistry } from '../registry/index.ts';
import { replaceFile } from '../replace-file.ts';

/** A registry file that exists but cannot be used. */
export class RegistryFileError extends HintedError {}

/** Reads and validates a registry JSON file; undefined when the file does not exist. */
export async function readRegistryFile(file: string): Promise<Registry | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new RegistryFileError(
      `${file} is not valid JSON`,
      'restore it from registry-history/ or delete it to start over',
      { cause: error },
    );
  }
  const parsed = registrySchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new RegistryFileError(
      `${file} is not an fstore registry (${issue?.path.join('.') || 'root'}: ${issue?.message})`,
      'point at a file written by `fstore apply` or `fstore validate --out`',
    );
  }
  return parsed.data;
}

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
