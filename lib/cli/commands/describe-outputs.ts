import { resolveStageConfig } from '../../config/stages.ts';
import { appliedRegistryPath, isLocalEnv, onlineStoreDir } from '../../data-paths.ts';
import { offlineRoot } from '../../offline/local-layout.ts';
import type { Registry } from '../../registry/index.ts';
import { stackName } from '../../stacks/stack-name.ts';
import { awsRegion } from '../aws-region.ts';
import type { CliContext } from '../context.ts';
import {
  cloudFormationClient,
  type EnvironmentStackOutputs,
  readStackOutputs,
} from '../stack-outputs-reader.ts';

/** Reads the outputs of `env`'s deployed stack (credentials needed). */
export async function environmentStackOutputs(env: string): Promise<EnvironmentStackOutputs> {
  const region = awsRegion(env);
  return readStackOutputs(
    await cloudFormationClient(region),
    stackName(resolveStageConfig(env)),
    region,
  );
}

/**
 * `fstore describe --outputs`: on AWS, the stack's outputs (what a training job or an outside
 * role needs); locally, where the same things are, since a local environment has no stack.
 */
export async function describeOutputs(ctx: CliContext, registry: Registry, json: boolean) {
  if (isLocalEnv(ctx.env)) return describeLocal(ctx, registry, json);
  const stack = await environmentStackOutputs(ctx.env);
  if (json) {
    ctx.out.json({ env: ctx.env, ...stack });
    return;
  }
  const { c } = ctx.out;
  ctx.out.line(
    `${c.bold(`stack ${stack.stackName}`)} (${stack.status}) in ${stack.scope.region}, account ${stack.scope.account}`,
  );
  ctx.out.table(
    ['output', 'value'],
    Object.entries(stack.outputs).sort(([a], [b]) => a.localeCompare(b)),
  );
}

function describeLocal(ctx: CliContext, registry: Registry, json: boolean): void {
  const { dataDir } = ctx.options;
  const local = {
    env: ctx.env,
    local: true,
    note: 'a local environment has no stack, no Athena and no IAM: training sets come from `fstore training-set`, lookups from `fstore serve`',
    offlineData: offlineRoot(dataDir, ctx.env),
    onlineStore: onlineStoreDir(dataDir, ctx.env),
    appliedRegistry: appliedRegistryPath(dataDir, ctx.env),
    offlineEngine: 'DuckDB',
    lookupApiUrl: 'http://127.0.0.1:8080 (fstore serve; --port to change)',
    services: Object.fromEntries(
      registry.featureServices.map((s) => [
        s.name,
        {
          trainingSet: `npx fstore training-set --env ${ctx.env} --service ${s.name} --entities <file> --out <file>`,
        },
      ]),
    ),
  };
  if (json) {
    ctx.out.json(local);
    return;
  }
  ctx.out.line(`${ctx.out.c.bold(`environment ${ctx.env}`)} (local): ${local.note}`);
  ctx.out.table(
    ['what', 'where'],
    [
      ['offline data', local.offlineData],
      ['online store', local.onlineStore],
      ['applied registry', local.appliedRegistry],
      ['offline engine', local.offlineEngine],
      ['lookup API', local.lookupApiUrl],
      ...Object.entries(local.services).map(([name, s]) => [`training set ${name}`, s.trainingSet]),
    ],
  );
}
