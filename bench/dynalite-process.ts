import { startDynalite } from '../lib/local/dynalite-server.ts';

/** A DynamoDB-API server (dynalite, in memory) in its own process, so it has its own core. */
const server = await startDynalite();
process.stdout.write(`${server.endpoint}\n`);
process.on('SIGTERM', () => {
  void server.close().then(() => process.exit(0));
});
