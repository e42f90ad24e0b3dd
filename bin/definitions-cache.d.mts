import type { CompiledDefinitions } from '../lib/registry/load-definitions.ts';

export declare function compiledDefinitions(options: {
  root: string;
  files: readonly string[];
  definitions: { sourceDir: string; bundleDir: string };
  cacheRoot: string;
}): Promise<CompiledDefinitions>;
