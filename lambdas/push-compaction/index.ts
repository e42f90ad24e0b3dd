import { S3Client } from '@aws-sdk/client-s3';
import type { RuntimeRegistry } from '../../lib/registry/runtime-projection.ts';
import { readPushCompactionConfig } from './config.ts';
import { createPushCompactionHandler } from './handler.ts';

/**
 * Replaced at image build time (esbuild define, see Dockerfile) with pushRegistryProjection of
 * the compiled registry: every source, and every view reading it with its constraints.
 */
declare const FSTORE_REGISTRY: RuntimeRegistry;

export const handler = createPushCompactionHandler({
  registry: FSTORE_REGISTRY,
  s3: new S3Client({}),
  config: readPushCompactionConfig(process.env),
});
