import type { AddressInfo } from 'node:net';
import dynalite from 'dynalite';
import { refuseBrowserRequests } from './dynalite-browser-guard.ts';

export interface LocalDynamo {
  readonly endpoint: string;
  close(): Promise<void>;
}

/**
 * An in-process DynamoDB-API server (dynalite) on 127.0.0.1. With `path`, data lives in LevelDB
 * files there and survives restarts; without it, in memory. Port 0 picks a free port.
 */
export async function startDynalite(
  options: { path?: string; port?: number } = {},
): Promise<LocalDynamo> {
  const server = dynalite({
    createTableMs: 0,
    deleteTableMs: 0,
    updateTableMs: 0,
    ...(options.path ? { path: options.path } : {}),
  });
  refuseBrowserRequests(server);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
