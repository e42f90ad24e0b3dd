import { appendFile, mkdir, readdir, readFile, rename } from 'node:fs/promises';
import path from 'node:path';
import { ingestManifestPath, offlineRoot } from './local-layout.ts';

/** What an ingest records about itself, for duplicate detection and `fstore_seq`. */
export interface IngestRecord {
  readonly ingestId: string;
  readonly source: string;
  readonly file: string;
  readonly sha256: string;
  readonly rows: number;
  readonly firstSeq: number;
  readonly at: string;
}

/** Where validated, staged Parquet files go: the local offline folder or the environment's S3 bucket. */
export interface IngestTarget {
  readonly description: string;
  /** The earlier ingest of exactly this content into `source`, if any. */
  findIngest(source: string, sha256: string): Promise<IngestRecord | undefined>;
  /** First `fstore_seq` for the next ingest: above every stored row's. */
  nextSeq(): Promise<number>;
  /** Moves `<staging>/dt=.../*.parquet` into the store; returns where each file went. */
  publish(source: string, staging: string): Promise<string[]>;
  record(entry: IngestRecord): Promise<void>;
}

export class LocalIngestTarget implements IngestTarget {
  readonly description: string;

  constructor(
    private readonly dataDir: string,
    private readonly env: string,
  ) {
    this.description = offlineRoot(dataDir, env);
  }

  async findIngest(source: string, sha256: string): Promise<IngestRecord | undefined> {
    return (await this.manifest()).find((m) => m.source === source && m.sha256 === sha256);
  }

  async nextSeq(): Promise<number> {
    return (await this.manifest()).reduce((max, m) => Math.max(max, m.firstSeq + m.rows), 1);
  }

  async publish(source: string, staging: string): Promise<string[]> {
    const target = path.join(offlineRoot(this.dataDir, this.env), source);
    const moved: string[] = [];
    for (const partition of (await readdir(staging)).sort()) {
      await mkdir(path.join(target, partition), { recursive: true });
      for (const file of (await readdir(path.join(staging, partition))).sort()) {
        const destination = path.join(target, partition, file);
        await rename(path.join(staging, partition, file), destination);
        moved.push(destination);
      }
    }
    return moved;
  }

  async record(entry: IngestRecord): Promise<void> {
    await appendFile(ingestManifestPath(this.dataDir, this.env), `${JSON.stringify(entry)}\n`);
  }

  private async manifest(): Promise<IngestRecord[]> {
    const text = await readFile(ingestManifestPath(this.dataDir, this.env), 'utf8').catch(() => '');
    return text
      .split('\n')
      .filter((line) => line.trim().length > 0)
      .map((line) => JSON.parse(line) as IngestRecord);
  }
}
