import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import type { StageConfig } from '../../lib/config/stage-config.ts';
import { resolveStageConfig } from '../../lib/config/stages.ts';
import { compileRegistry, loadDefinitions, type Registry } from '../../lib/registry/index.ts';
import { buildApp } from '../../lib/stacks/build-app.ts';
import { repoRoot } from '../helpers/run-fstore.ts';

/** The feature flags of cdk.json, so tests synthesize exactly what `cdk synth` does. */
export function cdkJsonContext(): Record<string, unknown> {
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

/** One cdk-nag finding: rule id (with finding suffix) and the construct paths it names. */
export interface NagViolation {
  readonly rule: string;
  readonly severity: string;
  readonly constructs: readonly string[];
}

interface ValidationReport {
  pluginReports: {
    violations?: {
      ruleName: string;
      severity?: string;
      violatingConstructs?: { constructPath: string }[];
    }[];
  }[];
}

/**
 * Synthesizes `app` into a temporary folder and returns every policy-validation (cdk-nag)
 * finding. CDK fails synthesis on any finding, so the failure is turned into the findings.
 */
export function synthWithViolations(app: App) {
  const outdir = app.outdir;
  try {
    return { assembly: app.synth(), violations: [] as NagViolation[] };
  } catch (error) {
    const reportFile = path.join(outdir, 'validation-report.json');
    if (!existsSync(reportFile)) throw error;
    const report = JSON.parse(readFileSync(reportFile, 'utf8')) as ValidationReport;
    const violations = report.pluginReports.flatMap((r) =>
      (r.violations ?? []).map(
        (v): NagViolation => ({
          rule: v.ruleName,
          severity: v.severity ?? 'error',
          constructs: (v.violatingConstructs ?? []).map((c) => c.constructPath),
        }),
      ),
    );
    if (violations.length === 0) throw error;
    return { assembly: undefined, violations };
  }
}

/** A fresh app with cdk.json's context; CDK synthesizes it into a temporary folder. */
export function newApp(): App {
  return new App({ context: cdkJsonContext() });
}

/** Builds the whole app for a stage; returns its stack template and every cdk-nag finding. */
export async function synthStage(stage: StageConfig | string) {
  const config = typeof stage === 'string' ? resolveStageConfig(stage) : stage;
  const registry = await loadExampleRegistry();
  const app = newApp();
  const { stack } = buildApp({ app, stage: config, registry });
  const { assembly, violations } = synthWithViolations(app);
  const template = assembly ? Template.fromStack(stack) : undefined;
  return {
    app,
    stack,
    violations,
    registry,
    assembly,
    /** The stack template; throws listing the cdk-nag findings when synthesis failed. */
    get template(): Template {
      if (!template) throw new Error(`synthesis failed: ${JSON.stringify(violations, null, 2)}`);
      return template;
    },
  };
}
