import type { Command } from 'commander';
import { closestNames } from '../../closest-names.ts';
import { type LineageEdge, lineageGraph, lineageOf } from '../../registry/index.ts';
import { CliError } from '../cli-error.ts';
import { CliContext } from '../context.ts';

export function registerLineage(program: Command): void {
  program
    .command('lineage')
    .description(
      'Show where a feature, view, source, column, service or entity comes from (upstream) and what uses it (downstream)',
    )
    .argument(
      '<name>',
      'a definition name, view.feature (or view:feature, view__feature), or source.column',
    )
    .option('--json', 'print JSON')
    .action(async (name: string, options: { json?: boolean }, command: Command) => {
      const ctx = CliContext.fromCommand(command);
      const registry = await ctx.compile();
      const lineage = lineageOf(registry, name);
      if (!lineage) {
        const close = closestNames(
          name,
          lineageGraph(registry).nodes.map((n) => n.name),
        );
        throw new CliError(`nothing named "${name}" in ${ctx.display(ctx.options.defs)}`, {
          hint:
            close.length > 0
              ? `did you mean ${close.map((n) => `"${n}"`).join(' or ')}?`
              : 'fstore list shows every definition',
        });
      }
      if (options.json) {
        ctx.out.json(lineage);
        return;
      }
      const label = (id: string) => id.replace(':', ' ');
      const rows = (edges: readonly (LineageEdge & { depth: number })[]) =>
        edges.map((e) => [e.depth, label(e.from), e.relation, label(e.to)]);
      ctx.out.line(ctx.out.c.bold(`${lineage.node.kind} ${lineage.node.name}`));
      ctx.out.line('upstream (what it is computed from):');
      if (lineage.upstream.length === 0) ctx.out.line('  nothing: it is a root');
      else ctx.out.table(['depth', 'from', 'how', 'to'], rows(lineage.upstream));
      ctx.out.line('downstream (what uses it):');
      if (lineage.downstream.length === 0) ctx.out.line('  nothing uses it');
      else ctx.out.table(['depth', 'from', 'how', 'to'], rows(lineage.downstream));
      const services = [
        ...new Set(
          lineage.downstream
            .filter((e) => e.to.startsWith('featureService:'))
            .map((e) => e.to.slice('featureService:'.length)),
        ),
      ];
      if (services.length > 0)
        ctx.out.line(`services affected by a change: ${services.sort().join(', ')}`);
    });
}
