import path from 'node:path';

/** Where one environment keeps its local state under the data dir (default `.fstore`). */
export function envDataDir(dataDir: string, env: string): string {
  return path.join(dataDir, env);
}

export function appliedRegistryPath(dataDir: string, env: string): string {
  return path.join(envDataDir(dataDir, env), 'registry.json');
}

export function registryHistoryDir(dataDir: string, env: string): string {
  return path.join(envDataDir(dataDir, env), 'registry-history');
}

export function demoDataDir(dataDir: string, env: string): string {
  return path.join(envDataDir(dataDir, env), 'demo-data');
}

export function onlineStoreDir(dataDir: string, env: string): string {
  return path.join(envDataDir(dataDir, env), 'online');
}

/** Rows materialization kept out of the online store, as JSON lines per view and run. */
export function quarantineDir(dataDir: string, env: string): string {
  return path.join(envDataDir(dataDir, env), 'quarantine');
}

/** Held by the process that runs the local online store (start, serve, get, materialize). */
export function onlineLockPath(dataDir: string, env: string): string {
  return path.join(envDataDir(dataDir, env), 'online.lock');
}

/** The endpoint of the online store a running start/serve holds, for other commands to use. */
export function onlineEndpointPath(dataDir: string, env: string): string {
  return path.join(envDataDir(dataDir, env), 'online.endpoint');
}

/** Environments that run on the embedded engines on this machine rather than on AWS. */
export function isLocalEnv(env: string): boolean {
  return env === 'local' || env.startsWith('local-');
}
