import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { lstat, readFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { HintedError } from '../hinted-error.ts';

/** `fstore-export.json`: written last, so an export folder without it is not a finished export. */
export const exportManifestName = 'fstore-export.json';

/**
 * The top-level names an export may hold, each restored to the same place under the
 * environment's folder. Anything else listed in a manifest is refused (a hostile or damaged
 * export cannot write elsewhere).
 */
export const exportedTopLevel = [
  'registry.json',
  'registry-history',
  'lineage.json',
  'offline',
  'audit',
  'quarantine',
  'online.watermarks.json',
  // AWS exports only: objects of the offline bucket under their keys (docs/adr/0021-aws-export.md).
  'offline-bucket',
] as const;

/** Where an export was taken: the layout of its files follows (docs/adr/0021-aws-export.md). */
export type ExportOrigin = 'local' | 'aws';

/** The top-level names an export of each origin holds; a name of the other is refused. */
const topLevelOf: Record<ExportOrigin, readonly string[]> = {
  local: exportedTopLevel.filter((name) => name !== 'offline-bucket'),
  aws: ['registry.json', 'registry-history', 'lineage.json', 'audit', 'offline-bucket'],
};

const fileSchema = z.object({
  path: z.string().min(1),
  bytes: z.number().int().min(0),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
});

const manifestSchema = z.object({
  format: z.literal('fstore-export'),
  version: z.literal(1),
  fstoreVersion: z.string(),
  env: z.string(),
  /** Absent in exports written before AWS exports existed: those are local. */
  origin: z.enum(['local', 'aws']).default('local'),
  exportedAt: z.string(),
  includesData: z.boolean(),
  files: z.array(fileSchema),
});

export type ExportManifest = z.infer<typeof manifestSchema>;
export type ExportedFile = z.infer<typeof fileSchema>;

export class ExportError extends HintedError {}

export async function sha256OfFile(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/**
 * Whether `relative` is a plain relative path (POSIX separators, no `.`/`..` segment, no
 * absolute start) under one of exportedTopLevel.
 */
export function isExportablePath(relative: string): boolean {
  if (relative.startsWith('/') || relative.includes('\\') || relative.includes('\0')) return false;
  const segments = relative.split('/');
  if (segments.some((s) => s === '' || s === '.' || s === '..')) return false;
  return (exportedTopLevel as readonly string[]).includes(segments[0] ?? '');
}

/**
 * Reads and checks an export folder: its manifest parses, every listed path is one an export
 * may hold, and every file is a regular file (not a link) of the listed size and sha256. Throws
 * an ExportError naming the first problem; reads, never writes.
 */
export async function verifiedExport(dir: string): Promise<ExportManifest> {
  const file = path.join(dir, exportManifestName);
  const text = await readFile(file, 'utf8').catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT' || error.code === 'ENOTDIR')
      throw new ExportError(
        `${dir} is not an fstore export: it has no ${exportManifestName}`,
        'point at the folder `fstore export --out <dir>` wrote (an export stopped before its end has no manifest and is not usable)',
      );
    throw error;
  });
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  const result = manifestSchema.safeParse(parsed);
  if (!result.success) {
    const issue = result.error.issues[0];
    throw new ExportError(
      `${file} is not a manifest this fstore reads: ${issue ? `${issue.path.join('.') || 'the file'}: ${issue.message}` : 'not JSON'}`,
      'export again with this fstore version; the manifest is written by fstore export and never edited by hand',
    );
  }
  const manifest = result.data;
  const seen = new Set<string>();
  for (const listed of manifest.files) {
    if (!isExportablePath(listed.path))
      throw new ExportError(
        `${file} lists "${listed.path}", which is not a path an export holds`,
        `an export holds only ${exportedTopLevel.join(', ')} (relative paths without . or ..); export again`,
      );
    if (seen.has(listed.path))
      throw new ExportError(`${file} lists "${listed.path}" twice`, 'export again');
    seen.add(listed.path);
    if (!topLevelOf[manifest.origin].includes(listed.path.split('/')[0] ?? ''))
      throw new ExportError(
        `${file} lists "${listed.path}", which an export of ${manifest.origin === 'aws' ? 'an AWS' : 'a local'} environment does not hold`,
        'export again; the manifest is written by fstore export and never edited by hand',
      );
    const copy = path.join(dir, ...listed.path.split('/'));
    const info = await lstat(copy).catch(() => undefined);
    if (!info?.isFile())
      throw new ExportError(
        `${listed.path} of the export in ${dir} is ${info ? 'not a regular file' : 'missing'}`,
        'the export is incomplete or was changed after it was written; export again',
      );
    if (info.size !== listed.bytes || (await sha256OfFile(copy)) !== listed.sha256)
      throw new ExportError(
        `${listed.path} of the export in ${dir} is damaged: its ${info.size !== listed.bytes ? `size is ${info.size} bytes, not ${listed.bytes}` : 'sha256 differs from the manifest’s'}`,
        'the export was changed or its disk failed after it was written; export again',
      );
  }
  return manifest;
}
