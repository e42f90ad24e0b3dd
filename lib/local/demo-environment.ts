import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { demoDataDir } from '../data-paths.ts';
import { customerId, demoSources, startOfUtcDay, writeDemoData } from '../demo/index.ts';
import { ingestFile, wasIngested } from '../offline/ingest.ts';
import type { Registry } from '../registry/index.ts';

export interface DemoEnvironment {
  readonly dir: string;
  readonly generated: boolean;
  readonly ingested: readonly { source: string; rows: number }[];
  readonly entitiesFile: string;
}

const customers = 1000;
const days = 90;

/**
 * Makes sure a local environment has the churn demo data: generated once (deterministic seed),
 * ingested into the offline store once per file content, plus a sample entity file for
 * training sets. Later starts reuse what is there.
 */
export async function ensureDemoEnvironment(options: {
  registry: Registry;
  dataDir: string;
  env: string;
  onProgress?: (done: number, total: number) => void;
  /** A stop request: honoured after generating and before each file's ingest commits. */
  signal?: AbortSignal;
}): Promise<DemoEnvironment | undefined> {
  if (!demoSources.every((source) => options.registry.sources.some((s) => s.name === source)))
    return undefined;
  const dir = demoDataDir(options.dataDir, options.env);
  const files = demoSources.map((source) => path.join(dir, `${source}.parquet`));
  const end = startOfUtcDay(new Date());
  const generated = !files.every((file) => existsSync(file));
  if (generated) {
    await writeDemoData({
      registry: options.registry,
      outDir: dir,
      format: 'parquet',
      customers,
      days,
      seed: 42,
      end,
      ...(options.onProgress ? { onProgress: options.onProgress } : {}),
    });
  }
  const ingested: { source: string; rows: number }[] = [];
  for (const [index, source] of demoSources.entries()) {
    const file = files[index] as string;
    if (await wasIngested(options.dataDir, options.env, source, file)) continue;
    options.signal?.throwIfAborted();
    const result = await ingestFile({
      registry: options.registry,
      dataDir: options.dataDir,
      env: options.env,
      source,
      file,
      ...(options.signal ? { signal: options.signal } : {}),
    });
    ingested.push({ source, rows: result.rows });
  }
  const entitiesFile = path.join(dir, 'entities.csv');
  if (!existsSync(entitiesFile)) await writeFile(entitiesFile, sampleEntities(end));
  return { dir, generated, ingested, entitiesFile };
}

/** 200 labelled entity rows at noon on days inside the demo data's range. */
function sampleEntities(end: Date): string {
  const lines = ['customer_id,event_timestamp,churned'];
  for (let i = 1; i <= 200; i++) {
    const at = new Date(end.getTime() - ((i % 60) + 1) * 86_400_000 + 12 * 3_600_000);
    lines.push(
      `${customerId(((i * 37) % customers) + 1)},${at.toISOString()},${i % 5 === 0 ? 1 : 0}`,
    );
  }
  return `${lines.join('\n')}\n`;
}
