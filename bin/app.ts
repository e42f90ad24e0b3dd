import { App } from 'aws-cdk-lib';
import { resolveStageConfig } from '../lib/config/stages.ts';
import { compileRegistry, loadDefinitions } from '../lib/registry/index.ts';
import { buildApp } from '../lib/stacks/build-app.ts';

// Context is read here only: `-c env=<name>` (default in cdk.json) and optionally `-c defs=<path>`.
const app = new App();
const envName = String(app.node.tryGetContext('env') ?? 'dev');
const defs = String(app.node.tryGetContext('defs') ?? 'feature-defs');

const stage = resolveStageConfig(envName, {
  ...(process.env.CDK_DEFAULT_ACCOUNT ? { account: process.env.CDK_DEFAULT_ACCOUNT } : {}),
  ...(process.env.CDK_DEFAULT_REGION ? { region: process.env.CDK_DEFAULT_REGION } : {}),
});
const registry = compileRegistry(await loadDefinitions(defs));
buildApp({ app, stage, registry });
app.synth();
