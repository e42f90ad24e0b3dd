import { readdir } from 'node:fs/promises';
import path from 'node:path';

/** Regular files below `dir` as sorted POSIX paths relative to it; none when it does not exist. */
export async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(
    (error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return [];
      throw error;
    },
  );
  return entries
    .filter((e) => e.isFile())
    .map((e) => path.relative(dir, path.join(e.parentPath, e.name)).split(path.sep).join('/'))
    .sort();
}

/** `<folder>.<kind>-<8 hex>` siblings of `folder`: what a killed export or import left. */
export async function leftoverSiblings(folder: string, kind: string): Promise<string[]> {
  const parent = path.dirname(path.resolve(folder));
  const prefix = `${path.basename(path.resolve(folder))}.${kind}-`;
  const names = await readdir(parent).catch(() => [] as string[]);
  return names
    .filter((name) => name.startsWith(prefix) && /^[0-9a-f]{8}$/.test(name.slice(prefix.length)))
    .map((name) => path.join(parent, name));
}
