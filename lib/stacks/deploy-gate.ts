import { HintedError } from '../hinted-error.ts';
import { judgeBreakingChanges } from '../registry/breaking-allowance.ts';
import type { Registry } from '../registry/index.ts';
import { planRegistryChanges } from '../registry/plan.ts';
import { describeBreakingChange } from '../registry/plan-labels.ts';

/** The registry the environment runs now, as read before synthesis, and where it came from. */
export interface DeployedRegistryInput {
  readonly registry: Registry;
  /** A file path or S3 URL, named in messages. */
  readonly source: string;
}

/** A deploy whose registry breaks the deployed one without `-c allowBreaking` naming it. */
export class BreakingDeployRefused extends HintedError {}

/** A warning to show at synthesis (an Annotations warning on the stack). */
export interface DeployGateWarning {
  readonly id: string;
  readonly message: string;
}

export interface DeployGateProps {
  readonly stackName: string;
  readonly registry: Registry;
  /** Undefined when nobody fetched it: the check cannot run and synthesis says so. */
  readonly deployed: DeployedRegistryInput | undefined;
  /** Definition names whose breaking changes are accepted (`-c allowBreaking=a,b`). */
  readonly allowBreaking: readonly string[];
  /** How to fetch the deployed registry, for the warning when it is missing. */
  readonly fetchHint: string;
}

/**
 * Refuses (throws) a registry that breaks the deployed one, unless every breaking definition is
 * named in `allowBreaking`. Returns the warnings for synthesis: nothing to compare with,
 * breaking changes let through, an allowed name with no breaking change.
 */
export function gateDeploy(props: DeployGateProps): DeployGateWarning[] {
  const { stackName, registry, deployed, allowBreaking } = props;
  if (!deployed)
    return [
      {
        id: 'fstore:deployed-registry-unknown',
        message: `No deployed registry given (-c deployedRegistry=<file>): breaking changes against what ${stackName} runs now are NOT checked. ${props.fetchHint}`,
      },
    ];
  const plan = planRegistryChanges(deployed.registry, registry);
  const { refused, allowed, unusedNames } = judgeBreakingChanges(plan, allowBreaking);
  if (refused.length > 0) {
    const names = [...new Set(refused.map((change) => change.name))];
    throw new BreakingDeployRefused(
      `registry ${registry.version} breaks the deployed registry ${deployed.registry.version} (${deployed.source}) of ${stackName}; nothing was synthesized:\n${refused.map((change) => `  - ${describeBreakingChange(change)}`).join('\n')}`,
      `run \`fstore plan\` against it to read the changes; to accept them, synthesize with -c allowBreaking=${[...allowBreaking, ...names].join(',')}`,
    );
  }
  const warnings: DeployGateWarning[] = [];
  if (allowed.length > 0)
    warnings.push({
      id: 'fstore:breaking-changes-allowed',
      message: `Deploying breaking changes allowed by -c allowBreaking: ${allowed.map(describeBreakingChange).join('; ')}`,
    });
  if (unusedNames.length > 0)
    warnings.push({
      id: 'fstore:allow-breaking-unused',
      message: `-c allowBreaking names ${unusedNames.join(', ')}, which ${unusedNames.length === 1 ? 'has' : 'have'} no breaking change against the deployed registry ${deployed.registry.version}`,
    });
  return warnings;
}
