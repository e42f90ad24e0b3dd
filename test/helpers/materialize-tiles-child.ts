// A process of its own running a local materialization of the tile-fed view `spend`
// (tile-registry.ts) against the parent test's dynalite (FSTORE_TEST_DYNAMO, FSTORE_TEST_TABLE)
// and offline store (FSTORE_TEST_DATA_DIR), at FSTORE_TEST_NOW_MS, so FSTORE_FAULT can kill it
// with SIGKILL at a step; FSTORE_TEST_CHUNK_ROWS sets the rows between checkpoints,
// FSTORE_TEST_TILE_DEFINITIONS the variant of the definitions (tileDefinitions' options, JSON). Prints the
// results as JSON.
import { materializeLocal } from '../../lib/local/materialize-local.ts';
import { localDynamoClient } from '../../lib/online/online-table.ts';
import { compileRegistry } from '../../lib/registry/index.ts';
import { tileDefinitions } from './tile-registry.ts';

async function main(): Promise<void> {
  const variant = JSON.parse(process.env.FSTORE_TEST_TILE_DEFINITIONS ?? '{}');
  const registry = compileRegistry(tileDefinitions(variant).map((definition) => ({ definition })));
  const results = await materializeLocal({
    registry,
    dataDir: process.env.FSTORE_TEST_DATA_DIR ?? '',
    env: 'local',
    client: localDynamoClient(process.env.FSTORE_TEST_DYNAMO ?? ''),
    table: process.env.FSTORE_TEST_TABLE ?? '',
    views: ['spend'],
    now: () => Number(process.env.FSTORE_TEST_NOW_MS),
    ...(process.env.FSTORE_TEST_CHUNK_ROWS
      ? { chunkRows: Number(process.env.FSTORE_TEST_CHUNK_ROWS) }
      : {}),
  });
  process.stdout.write(`${JSON.stringify(results)}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
