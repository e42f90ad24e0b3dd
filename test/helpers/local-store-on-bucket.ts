import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { readManifest } from '../../lib/offline/ingest-manifest.ts';
import { ingestRecordKey } from '../../lib/offline/ingest-records.ts';
import { offlineRoot } from '../../lib/offline/local-layout.ts';

/**
 * Puts a local offline store's committed ingests into bucket objects laid out as on S3 (ADR
 * 0008): each data file at `offline/<source>/dt=<day>/<name>`, each commit record at
 * `offline/_ingests/<source>/<sha256>/<ingestId>.json` naming those keys. The record's `file`
 * stays what the ingest read (a local push log batch's under `_push/<source>/`, as an S3 push
 * batch's is). Objects already there are replaced, others kept.
 */
export async function copyLocalStoreToBucket(
  dataDir: string,
  objects: Map<string, Buffer>,
): Promise<void> {
  const root = offlineRoot(dataDir, 'local');
  for (const record of (await readManifest(root)) ?? []) {
    const files = record.files ?? [];
    for (const file of files)
      objects.set(`offline/${file}`, await readFile(path.join(root, ...file.split('/'))));
    objects.set(
      ingestRecordKey(record.source, record.sha256, record.ingestId),
      Buffer.from(`${JSON.stringify({ ...record, files: files.map((f) => `offline/${f}`) })}\n`),
    );
  }
}
