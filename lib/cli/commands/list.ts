import type { Command } from 'commander';
import type { Registry } from '../../registry/index.ts';
import { UsageError } from '../cli-error.ts';
import { CliContext } from '../context.ts';
import type { Output } from '../output.ts';

const kinds = ['views', 'services', 'features', 'entities', 'sources'] as const;
type Kind = (typeof kinds)[number];

export function registerList(program: Command): void {
  program
    .command('list')
    .description(`List definitions as tables: ${kinds.join(', ')} (default: views and services)`)
    .argument('[kind]', `one of ${kinds.join(', ')}`)
    .option('--json', 'print JSON instead of tables')
    .action(async (kind: string | undefined, options: { json?: boolean }, command: Command) => {
      if (kind !== undefined && !(kinds as readonly string[]).includes(kind)) {
        throw new UsageError(`unknown kind "${kind}"`, `use one of ${kinds.join(', ')}`);
      }
      const ctx = CliContext.fromCommand(command);
      const registry = await ctx.compile();
      const selected: Kind[] = kind ? [kind as Kind] : ['views', 'services'];
      if (options.json) {
        ctx.out.json(
          Object.fromEntries(selected.map((k) => [k, rows(registry, k).map((r) => r.json)])),
        );
        return;
      }
      for (const k of selected) printKind(ctx.out, registry, k, selected.length > 1);
    });
}

interface Listed {
  cells: unknown[];
  json: unknown;
}

const heads: Record<Kind, string[]> = {
  views: [
    'view',
    'version',
    'entities',
    'source',
    'features',
    'ttl',
    'online',
    'schedule',
    'status',
    'owner',
  ],
  services: ['service', 'features', 'views', 'online', 'status', 'owner'],
  features: ['feature', 'view', 'type', 'nullable', 'constraints', 'online', 'description'],
  entities: ['entity', 'join keys', 'owner', 'description'],
  sources: ['source', 'columns', 'timestamp', 'created timestamp', 'owner'],
};

function printKind(out: Output, registry: Registry, kind: Kind, withTitle: boolean): void {
  const listed = rows(registry, kind);
  if (withTitle)
    out.line(out.c.bold(`${kind[0]?.toUpperCase()}${kind.slice(1)} (${listed.length})`));
  out.table(
    heads[kind],
    listed.map((r) => r.cells),
  );
}

function rows(registry: Registry, kind: Kind): Listed[] {
  switch (kind) {
    case 'views':
      return registry.featureViews.map((v) => ({
        cells: [
          v.name,
          v.version,
          v.entities,
          v.source,
          v.features.length,
          v.ttl ?? 'none',
          v.online ? 'yes' : 'no',
          v.schedule ?? '',
          v.status,
          v.owner,
        ],
        json: {
          name: v.name,
          version: v.version,
          entities: v.entities,
          source: v.source,
          features: v.features.map((f) => f.name),
          ttl: v.ttl ?? null,
          online: v.online,
          schedule: v.schedule ?? null,
          status: v.status,
          owner: v.owner ?? null,
        },
      }));
    case 'services':
      return registry.featureServices.map((s) => {
        const views = [...new Set(s.features.map((f) => f.view))];
        return {
          cells: [s.name, s.features.length, views, s.online ? 'yes' : 'no', s.status, s.owner],
          json: {
            name: s.name,
            features: s.features.map((f) => f.outputName),
            views,
            online: s.online,
            status: s.status,
            owner: s.owner ?? null,
          },
        };
      });
    case 'features':
      return registry.featureViews.flatMap((v) =>
        v.features.map((f) => ({
          cells: [
            f.name,
            v.name,
            f.type,
            f.nullable ? 'yes' : 'no',
            constraintText(f),
            v.online ? 'yes' : 'no',
            f.description,
          ],
          json: {
            name: f.name,
            fullName: `${v.name}__${f.name}`,
            view: v.name,
            type: f.type,
            nullable: f.nullable,
            min: f.min ?? null,
            max: f.max ?? null,
            allowedValues: f.allowedValues ?? null,
            online: v.online,
            description: f.description ?? null,
          },
        })),
      );
    case 'entities':
      return registry.entities.map((e) => ({
        cells: [e.name, e.joinKeys.map((k) => `${k.name}: ${k.type}`), e.owner, e.description],
        json: e,
      }));
    case 'sources':
      return registry.sources.map((s) => ({
        cells: [s.name, s.schema.length, s.timestampField, s.createdTimestampField ?? '', s.owner],
        json: s,
      }));
  }
}

export function constraintText(feature: {
  min?: number;
  max?: number;
  allowedValues?: readonly unknown[];
}): string {
  const parts: string[] = [];
  if (feature.min !== undefined) parts.push(`>= ${feature.min}`);
  if (feature.max !== undefined) parts.push(`<= ${feature.max}`);
  if (feature.allowedValues) parts.push(`in {${feature.allowedValues.join(', ')}}`);
  return parts.join(', ');
}
