import { readFileSync } from 'node:fs';
import path from 'node:path';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import type { StageConfig } from '../../lib/config/stage-config.ts';
import { resolveStageConfig } from '../../lib/config/stages.ts';
import { compileRegistry, loadDefinitions, type Registry } from '../../lib/registry/index.ts';
import { buildApp } from '../../lib/stacks/build-app.ts';
import { repoRoot } from '../helpers/run-fstore.ts';

/** The feature flags of cdk.json, so tests synthesize exactly what `cdk synth` does. */
function cdkJsonContext(): Record<string, unknown> {
  const cdkJson = JSON.parse(readFileSync(path.join(repoRoot, 'cdk.json'), 'utf8')) as {
    context: Record<string, unknown>;
  };
  return cdkJson.context;
}

let exampleRegistry: Promise<Registry> | undefined;

export function loadExampleRegistry(): Promise<Registry> {
  exampleRegistry ??= loadDefinitions(path.join(repoRoot, 'feature-defs')).then(compileRegistry);
  return exampleRegistry;
}

export interface NagViolation {
  ruleName: string;
  description: string;
  severity?: string;
  violatingResources: { resourceLogicalId: string; locations: string[] }[];
}

/** Synthesizes the app for a stage; returns the stack template and every cdk-nag finding. */
export async function synthStage(stage: StageConfig | string) {
  const config = typeof stage === 'string' ? resolveStageConfig(stage) : stage;
  const registry = await loadExampleRegistry();
  const app = new App({ context: cdkJsonContext() });
  const { stack } = buildApp({ app, stage: config, registry });
  const assembly = app.synth();
  const report = JSON.parse(
    readFileSync(path.join(assembly.directory, 'validation-report.json'), 'utf8'),
  ) as {
    pluginReports: { violations?: NagViolation[] }[];
  };
  const violations = report.pluginReports.flatMap((r) => r.violations ?? []);
  return { app, stack, template: Template.fromStack(stack), violations, registry, assembly };
}
