import { readFileSync } from 'node:fs';
import path from 'node:path';
import { stageOverridesFromContext } from '../config/context-overrides.ts';
import type { StageConfig } from '../config/stage-config.ts';
import { resolveStageConfig, StageConfigError } from '../config/stages.ts';
import { isObject } from '../is-object.ts';

/**
 * The stage config of `env` as `cdk deploy` resolves it from the project's cdk.json (its
 * `context.stages.<env>` on top of the built-in defaults), so a local run reads the same
 * settings as the stack, e.g. `offline.retention`. No cdk.json in `folder`: the defaults.
 */
export function projectStageConfig(env: string, folder: string = process.cwd()): StageConfig {
  const file = path.join(folder, 'cdk.json');
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return resolveStageConfig(env);
  }
  let context: Record<string, unknown> = {};
  try {
    const parsed: unknown = JSON.parse(text);
    if (isObject(parsed) && isObject(parsed.context)) context = parsed.context;
  } catch (error) {
    throw new StageConfigError(`${file}: not valid JSON (${(error as Error).message})`, {
      cause: error,
    });
  }
  return resolveStageConfig(
    env,
    stageOverridesFromContext(env, (key) => context[key]),
  );
}
