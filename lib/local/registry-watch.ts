import { type Stats, unwatchFile, watchFile } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { contentHash, type Registry, registrySchema } from '../registry/index.ts';

export type RegistryFileChange =
  | { readonly kind: 'registry'; readonly registry: Registry }
  | { readonly kind: 'unusable'; readonly reason: string };

/**
 * Reads a registry file a server may switch to. Only a complete registry is usable: valid
 * JSON, the registry schema, and a version equal to the content hash of the rest, so a file
 * caught half-written or edited by hand is refused rather than served.
 */
export async function readServableRegistry(file: string): Promise<RegistryFileChange> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    return { kind: 'unusable', reason: `it cannot be read (${(error as Error).message})` };
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { kind: 'unusable', reason: 'it is not valid JSON (incomplete or damaged)' };
  }
  const parsed = registrySchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return {
      kind: 'unusable',
      reason: `it is not an fstore registry (${issue?.path.join('.') || 'root'}: ${issue?.message})`,
    };
  }
  const { version, ...body } = json as { version: string };
  if (contentHash(body, version.length) !== version)
    return {
      kind: 'unusable',
      reason: `its content does not match its version ${version} (changed by hand or incomplete)`,
    };
  return { kind: 'registry', registry: parsed.data };
}

/**
 * Watches a registry file (by polling its stat, which also sees the rename `fstore apply`
 * writes with) and reports each change, read one at a time: a usable registry, or why the
 * file cannot be served. A removed file is reported as unusable.
 */
export function watchRegistryFile(
  file: string,
  onChange: (change: RegistryFileChange) => void,
  intervalMs = 500,
): { close(): void } {
  let reading: Promise<void> | undefined;
  let again = false;
  const read = (): void => {
    if (reading) {
      again = true;
      return;
    }
    reading = readServableRegistry(file)
      .then(onChange)
      .finally(() => {
        reading = undefined;
        if (again) {
          again = false;
          read();
        }
      });
  };
  const listener = (current: Stats, previous: Stats): void => {
    if (current.mtimeMs === 0 && current.ino === 0) {
      if (previous.mtimeMs !== 0) onChange({ kind: 'unusable', reason: 'it was removed' });
      return;
    }
    if (
      current.mtimeMs === previous.mtimeMs &&
      current.ino === previous.ino &&
      current.size === previous.size
    )
      return;
    read();
  };
  watchFile(file, { interval: intervalMs, persistent: false }, listener);
  return {
    close: () => unwatchFile(file, listener),
  };
}
