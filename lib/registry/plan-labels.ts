import type { DefinitionChange, DefinitionKind } from './plan.ts';

export const definitionKindLabel: Record<DefinitionKind, string> = {
  entity: 'entity',
  source: 'source',
  featureView: 'feature view',
  onDemandView: 'on-demand view',
  featureService: 'feature service',
};

/** One line for a breaking change: `feature view x: tenure_months: type changed`. */
export function describeBreakingChange(change: DefinitionChange): string {
  const reasons = [
    ...(change.reason ? [change.reason] : []),
    ...change.fields.filter((f) => f.level === 'breaking').map((f) => `${f.field}: ${f.reason}`),
  ];
  const services = change.affectedServices?.length
    ? ` [services affected: ${change.affectedServices.join(', ')}]`
    : '';
  return `${change.action === 'remove' ? 'removed ' : ''}${definitionKindLabel[change.kind]} ${change.name}: ${reasons.join('; ')}${services}`;
}
