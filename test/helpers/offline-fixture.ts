import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ingestFile } from '../../lib/offline/ingest.ts';
import { getTrainingSet, type TrainingSetOptions } from '../../lib/offline/training-set.ts';
import type { AnyDefinition } from '../../lib/registry/index.ts';
import { compileRegistry, type Registry } from '../../lib/registry/index.ts';
import type { PointInTimeStrategy } from '../../lib/sql/render-training-set.ts';
import { makeTempDir } from './run-fstore.ts';

/** A throwaway local environment: a registry, a data dir, and helpers to ingest and query. */
export async function offlineFixture(
  definitions: readonly AnyDefinition[],
  strategy?: PointInTimeStrategy,
) {
  const registry: Registry = compileRegistry(definitions.map((definition) => ({ definition })));
  const dataDir = await makeTempDir('offline');
  let files = 0;
  const writeJsonl = async (rows: readonly Record<string, unknown>[]) => {
    const file = path.join(dataDir, `input-${files++}.jsonl`);
    await writeFile(
      file,
      rows.map((r) => JSON.stringify(r)).join('\n') + (rows.length > 0 ? '\n' : ''),
    );
    return file;
  };
  return {
    registry,
    dataDir,
    writeJsonl,
    /** Ingests rows as they are: constraint checks at ingest are tested on their own. */
    async ingest(source: string, rows: readonly Record<string, unknown>[]) {
      return ingestFile({
        registry,
        dataDir,
        env: 'local',
        source,
        file: await writeJsonl(rows),
        allowConstraintViolations: true,
      });
    },
    async trainingSet(
      entities: readonly Record<string, unknown>[],
      options: Partial<TrainingSetOptions> & Pick<TrainingSetOptions, 'request'>,
    ) {
      return getTrainingSet({
        registry,
        dataDir,
        env: 'local',
        entities: await writeJsonl(entities),
        ...(strategy ? { strategy } : {}),
        ...options,
      });
    },
  };
}
