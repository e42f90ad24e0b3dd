import { mkdir, open, readdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { faultPoint } from '../fault-injection.ts';
import { acquireProcessLock, LockedError } from '../process-lock.ts';
import { deleteReplacedFiles, withoutExpired } from './compact-replaced.ts';
import {
  type IngestRecord,
  readManifest,
  readManifestState,
  replaceManifest,
  syncFolder,
  writeManifest,
} from './ingest-manifest.ts';
import { ingestLockPath, offlineRoot } from './local-layout.ts';

export type { IngestRecord } from './ingest-manifest.ts';

/**
 * Where validated, staged Parquet files go: the local offline folder or the environment's S3
 * bucket. An ingest publishes its files under names carrying its id, invisible to readers, then
 * commits in one atomic step; readers read only the files of committed ingests.
 */
export interface IngestTarget {
  readonly description: string;
  /** The committed ingest of exactly this content into `source`, if any. */
  findIngest(source: string, sha256: string): Promise<IngestRecord | undefined>;
  /**
   * The right to write one ingest, released after its commit (or failure): locally one ingest
   * at a time per store, waiting for the one writing now, so `fstore_seq` ranges never overlap.
   */
  beginWrite(): Promise<{ release(): Promise<void> }>;
  /** First `fstore_seq` for the next ingest: above every committed row's. */
  nextSeq(): Promise<number>;
  /** Moves `<staging>/dt=.../*.parquet` into the store, not yet visible; returns where each file went. */
  publish(source: string, staging: string): Promise<string[]>;
  /** The commit point: one atomic step after which every row of the ingest is visible. */
  commit(entry: Omit<IngestRecord, 'files'>, files: readonly string[]): Promise<void>;
  /** Removes the published files of an ingest that failed before its commit (best effort). */
  discard(files: readonly string[]): Promise<void>;
}

/** A commit whose outcome could not be learned: its files must stay (they may be committed). */
export class CommitOutcomeUnknownError extends Error {}

/** The last writer in line per lock file, for ingests running in this process. */
const writersInProcess = new Map<string, Promise<void>>();

/** How long an ingest waits for another one writing into the same local store. */
const writeLockWaitMs = 10 * 60_000;

export class LocalIngestTarget implements IngestTarget {
  readonly description: string;
  private readonly root: string;

  constructor(
    private readonly dataDir: string,
    private readonly env: string,
  ) {
    this.root = offlineRoot(dataDir, env);
    this.description = this.root;
  }

  async findIngest(source: string, sha256: string): Promise<IngestRecord | undefined> {
    return (await readManifest(this.root))?.find((m) => m.source === source && m.sha256 === sha256);
  }

  async beginWrite(): Promise<{ release(): Promise<void> }> {
    await mkdir(this.root, { recursive: true });
    const file = ingestLockPath(this.dataDir, this.env);
    // The lock file tells processes apart; ingests of this process wait in line here.
    const earlier = writersInProcess.get(file) ?? Promise.resolve();
    let done = () => {};
    const mine = earlier.then(() => new Promise<void>((resolve) => (done = resolve)));
    writersInProcess.set(file, mine);
    const leave = () => {
      done();
      if (writersInProcess.get(file) === mine) writersInProcess.delete(file);
    };
    await earlier;
    let lock: { release(): Promise<void> };
    try {
      lock = await waitForLock(file, `the offline store of "${this.env}"`);
    } catch (error) {
      leave();
      throw error;
    }
    const release = async () => {
      try {
        await lock.release();
      } finally {
        leave();
      }
    };
    try {
      // From the first ingest on, the store has a manifest, so readers read committed files only.
      if ((await readManifest(this.root)) === undefined)
        await writeManifest(this.root, [], `${process.pid}-init`);
    } catch (error) {
      await release();
      throw error;
    }
    return { release };
  }

  /** Committed ingests only: rows of an uncommitted one are never read, so their seqs may be used again. */
  async nextSeq(): Promise<number> {
    return ((await readManifest(this.root)) ?? []).reduce(
      (max, m) => Math.max(max, m.firstSeq + m.rows),
      1,
    );
  }

  async publish(source: string, staging: string): Promise<string[]> {
    const target = path.join(this.root, source);
    const moved: string[] = [];
    try {
      for (const partition of (await readdir(staging, { withFileTypes: true })).sort(byName)) {
        if (!partition.isDirectory()) continue;
        const folder = path.join(target, partition.name);
        await mkdir(folder, { recursive: true });
        for (const file of (await readdir(path.join(staging, partition.name))).sort()) {
          const staged = path.join(staging, partition.name, file);
          await flush(staged);
          const destination = path.join(folder, file);
          await rename(staged, destination);
          moved.push(destination);
          if (moved.length === 1) faultPoint('ingest:mid-publish');
        }
        await syncFolder(folder);
      }
    } catch (error) {
      await this.discard(moved);
      throw error;
    }
    return moved;
  }

  /**
   * Also forgets the files a compaction replaced whose keeping time is up, and deletes them
   * after the commit (best effort: what stays is a leftover `fstore doctor --fix` removes).
   */
  async commit(entry: Omit<IngestRecord, 'files'>, files: readonly string[]): Promise<void> {
    const state = (await readManifestState(this.root)) ?? { records: [], replaced: [] };
    const { kept, expired } = withoutExpired(state);
    const record: IngestRecord = {
      ...entry,
      files: files.map((f) => path.relative(this.root, f).split(path.sep).join('/')),
    };
    await replaceManifest(
      this.root,
      { records: [...kept.records, record], replaced: kept.replaced },
      entry.ingestId,
      () => faultPoint('ingest:before-commit'),
    );
    await deleteReplacedFiles(this.root, expired).catch(() => undefined);
  }

  async discard(files: readonly string[]): Promise<void> {
    await Promise.all(files.map((f) => rm(f, { force: true }).catch(() => undefined)));
  }
}

const byName = (a: { name: string }, b: { name: string }) => a.name.localeCompare(b.name);

async function flush(file: string): Promise<void> {
  const handle = await open(file, 'r+');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

async function waitForLock(file: string, what: string): Promise<{ release(): Promise<void> }> {
  const started = Date.now();
  for (;;) {
    try {
      return await acquireProcessLock(file, what);
    } catch (error) {
      if (!(error instanceof LockedError) || Date.now() - started > writeLockWaitMs) throw error;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}
