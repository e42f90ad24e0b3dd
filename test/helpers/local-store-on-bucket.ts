import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import {
  type IngestRecord,
  readManifest,
  writeManifest,
} from '../../lib/offline/ingest-manifest.ts';
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

/**
 * The reverse: a bucket's committed ingests (each commit record under `offline/_ingests/` and
 * the data files it names) as a local offline store's under `dataDir`, its manifest replaced by
 * those records, their `fstore_seq` kept. Local readers (a training set) then read exactly the
 * rows the bucket's records commit, in the order S3's clock gave them.
 */
export async function copyBucketStoreToLocal(
  objects: ReadonlyMap<string, Buffer>,
  dataDir: string,
): Promise<void> {
  const root = offlineRoot(dataDir, 'local');
  const records: IngestRecord[] = [];
  for (const [key, body] of objects) {
    // Commit records only (`<source>/<sha256>/<ingestId>.json`), not locks or summaries.
    if (!/^offline\/_ingests\/[^/]+\/[0-9a-f]{64}\/[^/]+\.json$/.test(key)) continue;
    const record = JSON.parse(body.toString('utf8')) as IngestRecord;
    const files = (record.files ?? []).map((f) => f.replace(/^offline\//, ''));
    for (const [index, file] of files.entries()) {
      const data = objects.get(record.files?.[index] ?? '');
      if (!data) throw new Error(`the commit record ${key} names ${file}, which the bucket lacks`);
      const target = path.join(root, ...file.split('/'));
      await mkdir(path.dirname(target), { recursive: true });
      await writeFile(target, data);
    }
    records.push({ ...record, files });
  }
  records.sort((a, b) => (BigInt(a.firstSeq) < BigInt(b.firstSeq) ? -1 : 1));
  await writeManifest(root, records, 'from-bucket');
}
