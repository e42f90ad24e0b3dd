import type { ChangeLevel, DefinitionChange, RegistryPlan } from '../registry/plan.ts';
import { definitionKindLabel as kindLabel } from '../registry/plan-labels.ts';
import type { Output } from './output.ts';

const actionMark = { add: '+', remove: '-', change: '~' } as const;

export function printPlan(out: Output, plan: RegistryPlan, env: string): void {
  const { c } = out;
  const levelText = (level: ChangeLevel) =>
    level === 'breaking'
      ? c.red('breaking')
      : level === 'safe'
        ? c.green('safe')
        : c.dim('metadata-only');
  const from = plan.fromVersion ?? 'nothing applied';
  out.line(`Plan for env "${env}": ${from} → ${plan.toVersion}`);
  if (plan.changes.length === 0) {
    out.line(c.green('No changes. The registry matches what is applied.'));
    return;
  }
  for (const change of plan.changes) {
    out.line(
      `  ${actionMark[change.action]} ${kindLabel[change.kind]} ${c.bold(change.name)}${versionText(change)}  ${levelText(change.level)}${change.reason ? c.dim(` (${change.reason})`) : ''}`,
    );
    for (const field of change.fields) {
      out.line(
        `      ${actionMark[field.action]} ${field.field}${valueText(field.from, field.to, field.action)}  ${levelText(field.level)}${c.dim(`: ${field.reason}`)}`,
      );
    }
    if (change.affectedServices && change.action !== 'add')
      out.line(`      services affected: ${change.affectedServices.join(', ')}`);
  }
  const adds = plan.changes.filter((ch) => ch.action === 'add').length;
  const removes = plan.changes.filter((ch) => ch.action === 'remove').length;
  const edits = plan.changes.length - adds - removes;
  out.line(
    `Summary: ${adds} to add, ${edits} to change, ${removes} to remove (${plan.counts.breaking} breaking, ${plan.counts.safe} safe, ${plan.counts.metadata} metadata-only).`,
  );
}

function versionText(change: DefinitionChange): string {
  if (!change.version) return '';
  return change.version.from
    ? ` (version ${change.version.from} → ${change.version.to})`
    : ` (version ${change.version.to})`;
}

function valueText(from: unknown, to: unknown, action: 'add' | 'remove' | 'change'): string {
  const show = (value: unknown) =>
    value === undefined ? 'unset' : typeof value === 'string' ? value : JSON.stringify(value);
  if (action === 'add') return `: ${show(to)}`;
  if (action === 'remove') return `: ${show(from)}`;
  return `: ${show(from)} → ${show(to)}`;
}
