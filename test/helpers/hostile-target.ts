// Run as a script (node --import tsx): a lookup API and a dynalite endpoint in a process of
// their own, for tests of what a client can do to the process: no test runner or other
// listener catches its errors here.
// Prints one JSON line {"api": port, "dynamo": port} once both listen; SIGTERM stops it.
import {
  createLookupHandler,
  localLambdaContext,
  readLookupConfig,
} from '../../lambdas/online-lookup/handler.ts';
import { startDynalite } from '../../lib/local/dynalite-server.ts';
import { startHttpServer } from '../../lib/local/http-server.ts';
import { ensureLocalTable, localDynamoClient } from '../../lib/online/online-table.ts';
import { onlineRegistry } from './online-registry.ts';

process.env.POWERTOOLS_METRICS_DISABLED = 'true';
process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
const dynamo = await startDynalite();
const client = localDynamoClient(dynamo.endpoint);
await ensureLocalTable(client, 'fstore-hostile-online');
const handler = createLookupHandler({
  registry: onlineRegistry().registry,
  client,
  config: readLookupConfig({ TABLE_NAME: 'fstore-hostile-online' }),
});
const api = await startHttpServer((event) => handler(event, localLambdaContext), {
  port: 0,
  maxBodyBytes: 262_144,
  headersTimeoutMs: 200,
  requestTimeoutMs: 400,
});
process.stdout.write(
  `${JSON.stringify({ api: Number(new URL(api.url).port), dynamo: Number(new URL(dynamo.endpoint).port) })}\n`,
);
process.once('SIGTERM', async () => {
  await api.close();
  client.destroy();
  await dynamo.close();
  process.exit(0);
});
