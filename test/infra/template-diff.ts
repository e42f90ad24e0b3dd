import { Template } from 'aws-cdk-lib/assertions';
import { resolveStageConfig } from '../../lib/config/stages.ts';
import type { Registry } from '../../lib/registry/index.ts';
import { buildApp } from '../../lib/stacks/build-app.ts';
import { newApp, synthWithViolations } from './synth-app.ts';

export type Resources = Record<string, { Type: string; Properties?: unknown }>;

/**
 * The dev stack's resources as `cdk synth` makes them from `registry`: the real synthesizer,
 * with the functions bundled by esbuild, so each function's S3Key is the hash of its bundle.
 */
export function synthesizedResources(registry: Registry): Resources {
  const app = newApp();
  const { stack } = buildApp({ app, stage: resolveStageConfig('dev'), registry });
  const { assembly, violations } = synthWithViolations(app);
  if (!assembly) throw new Error(`synthesis failed: ${JSON.stringify(violations, null, 2)}`);
  return Template.fromStack(stack).toJSON().Resources as Resources;
}

/** What CloudFormation would do to go from `before` to `after`, by logical id. */
export interface ResourceDiff {
  readonly added: string[];
  readonly removed: string[];
  readonly changed: string[];
}

export function resourceDiff(before: Resources, after: Resources): ResourceDiff {
  const ids = (r: Resources) => Object.keys(r).sort();
  return {
    added: ids(after).filter((id) => !(id in before)),
    removed: ids(before).filter((id) => !(id in after)),
    changed: ids(after).filter(
      (id) => id in before && JSON.stringify(after[id]) !== JSON.stringify(before[id]),
    ),
  };
}

/** Logical ids without CDK's 8-character path hash, so expectations read as construct paths. */
export function withoutHash(ids: readonly string[]): string[] {
  return ids.map((id) => id.replace(/[0-9A-F]{8}$/, '')).sort();
}
