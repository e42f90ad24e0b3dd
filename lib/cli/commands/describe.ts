import type { Command } from 'commander';
import { closestNames } from '../../closest-names.ts';
import type {
  Registry,
  RegistryEntity,
  RegistryFeatureService,
  RegistryFeatureView,
  RegistrySource,
} from '../../registry/index.ts';
import { CliError, UsageError } from '../cli-error.ts';
import { CliContext } from '../context.ts';
import type { Output } from '../output.ts';
import { describeOutputs } from './describe-outputs.ts';
import { constraintText } from './list.ts';

type Found =
  | { kind: 'entity'; item: RegistryEntity }
  | { kind: 'source'; item: RegistrySource }
  | { kind: 'feature view'; item: RegistryFeatureView }
  | { kind: 'feature service'; item: RegistryFeatureService }
  | { kind: 'feature'; item: RegistryFeatureView; feature: string };

export function registerDescribe(program: Command): void {
  program
    .command('describe')
    .description(
      'Show everything about one entity, source, feature view, feature service or feature (view__feature)',
    )
    .argument('[name]', 'a definition name, or view__feature / view.feature for one feature')
    .option(
      '--outputs',
      "the environment's stack outputs (bucket, database, workgroup, request tables, statements, lookup API): what a training job or an outside role needs; local paths for a local env",
    )
    .option('--json', 'print JSON')
    .action(
      async (
        name: string | undefined,
        options: { json?: boolean; outputs?: boolean },
        command: Command,
      ) => {
        const ctx = CliContext.fromCommand(command);
        if (options.outputs && name !== undefined)
          throw new UsageError(
            `describe takes a name or --outputs, not both (got "${name}" and --outputs)`,
            `run \`fstore describe ${name}\` and \`fstore describe --env ${ctx.env} --outputs\` separately`,
          );
        const registry = await ctx.compile();
        if (options.outputs) {
          await describeOutputs(ctx, registry, options.json === true);
          return;
        }
        if (name === undefined)
          throw new UsageError(
            'describe needs a name, or --outputs',
            'run `fstore list` to see the names, or `fstore describe --env <env> --outputs`',
          );
        const found = find(registry, name);
        if (found.length === 0) {
          const all = allNames(registry);
          const close = closestNames(name, all);
          throw new CliError(`nothing named "${name}" in ${ctx.display(ctx.options.defs)}`, {
            hint:
              close.length > 0
                ? `did you mean ${close.map((n) => `"${n}"`).join(' or ')}? (fstore list shows everything)`
                : 'run `fstore list` to see what is defined',
          });
        }
        if (options.json) {
          ctx.out.json(
            found.map((f) => ({
              kind: f.kind,
              ...(f.kind === 'feature' ? featureJson(f.item, f.feature, registry) : f.item),
            })),
          );
          return;
        }
        found.forEach((f, index) => {
          if (index > 0) ctx.out.line();
          print(ctx.out, registry, f);
        });
      },
    );
}

function find(registry: Registry, name: string): Found[] {
  const found: Found[] = [];
  const featureRef = /^([a-z][a-z0-9_]*?)(?:__|\.)([a-z][a-z0-9_]*)$/.exec(name);
  if (featureRef) {
    const view = registry.featureViews.find((v) => v.name === featureRef[1]);
    if (view?.features.some((f) => f.name === featureRef[2]))
      found.push({ kind: 'feature', item: view, feature: featureRef[2] ?? '' });
  }
  for (const item of registry.entities)
    if (item.name === name) found.push({ kind: 'entity', item });
  for (const item of registry.sources) if (item.name === name) found.push({ kind: 'source', item });
  for (const item of registry.featureViews)
    if (item.name === name) found.push({ kind: 'feature view', item });
  for (const item of registry.featureServices)
    if (item.name === name) found.push({ kind: 'feature service', item });
  return found;
}

function allNames(registry: Registry): string[] {
  return [
    ...registry.entities.map((e) => e.name),
    ...registry.sources.map((s) => s.name),
    ...registry.featureViews.flatMap((v) => [
      v.name,
      ...v.features.map((f) => `${v.name}__${f.name}`),
    ]),
    ...registry.featureServices.map((s) => s.name),
  ];
}

function featureJson(view: RegistryFeatureView, feature: string, registry: Registry) {
  const spec = view.features.find((f) => f.name === feature);
  return {
    view: view.name,
    viewVersion: view.version,
    ...spec,
    usedBy: servicesUsing(registry, view.name, feature),
  };
}

function servicesUsing(registry: Registry, view: string, feature?: string): string[] {
  return registry.featureServices
    .filter((s) =>
      s.features.some((f) => f.view === view && (feature === undefined || f.feature === feature)),
    )
    .map((s) => s.name);
}

function print(out: Output, registry: Registry, found: Found): void {
  const { c } = out;
  const field = (label: string, value: unknown) => {
    if (value === undefined || value === null || value === '') return;
    out.line(
      `  ${c.dim(`${label}:`.padEnd(18))} ${Array.isArray(value) ? value.join(', ') : String(value)}`,
    );
  };
  const tags = (t: Record<string, string>) =>
    Object.entries(t)
      .map(([k, v]) => `${k}=${v}`)
      .join(', ');
  out.line(
    `${c.bold(found.kind)} ${c.bold(found.kind === 'feature' ? `${found.item.name}__${found.feature}` : found.item.name)}`,
  );
  switch (found.kind) {
    case 'entity': {
      const e = found.item;
      field('description', e.description);
      field(
        'join keys',
        e.joinKeys.map((k) => `${k.name} (${k.type})`),
      );
      field('owner', e.owner);
      field('tags', tags(e.tags));
      field('defined in', e.definedIn);
      field(
        'used by views',
        registry.featureViews.filter((v) => v.entities.includes(e.name)).map((v) => v.name),
      );
      return;
    }
    case 'source': {
      const s = found.item;
      field('description', s.description);
      field('event time', s.timestampField);
      field('created time', s.createdTimestampField);
      field(
        'field mapping',
        Object.entries(s.fieldMapping).map(([raw, col]) => `${raw} → ${col}`),
      );
      field('glue table', s.offline.glueTable);
      field('s3 prefix', s.offline.s3Prefix);
      field('owner', s.owner);
      field('tags', tags(s.tags));
      field('defined in', s.definedIn);
      field(
        'used by views',
        registry.featureViews.filter((v) => v.source === s.name).map((v) => v.name),
      );
      out.table(
        ['column', 'type'],
        s.schema.map((col) => [col.name, col.type]),
      );
      return;
    }
    case 'feature view': {
      const v = found.item;
      field('description', v.description);
      field('version', v.version);
      field('status', v.status);
      field('entities', v.entities);
      field(
        'join keys',
        v.joinKeys.map((k) => `${k.name} (${k.type})`),
      );
      field('source', v.source);
      field('ttl', v.ttl ?? 'none (values never expire)');
      field('online', v.online ? `yes, materialized on ${v.schedule}` : 'no');
      field('leakage risk', v.leakageRisk);
      field('owner', v.owner);
      field('tags', tags(v.tags));
      field('online key', v.onlineStore.keyPrefix);
      field('defined in', v.definedIn);
      field('used by services', servicesUsing(registry, v.name));
      out.table(
        ['feature', 'type', 'nullable', 'constraints', 'description'],
        v.features.map((f) => [
          f.name,
          f.type,
          f.nullable ? 'yes' : 'no',
          constraintText(f),
          f.description,
        ]),
      );
      return;
    }
    case 'feature service': {
      const s = found.item;
      field('description', s.description);
      field('status', s.status);
      field('online', s.online ? 'yes (every view is online)' : 'no (some views are offline only)');
      field('owner', s.owner);
      field('tags', tags(s.tags));
      field('defined in', s.definedIn);
      out.table(
        ['output name', 'view', 'feature', 'type'],
        s.features.map((f) => [f.outputName, f.view, f.feature, f.type]),
      );
      return;
    }
    case 'feature': {
      const spec = found.item.features.find((f) => f.name === found.feature);
      field('description', spec?.description);
      field('type', spec?.type);
      field('nullable', spec?.nullable ? 'yes' : 'no');
      field('constraints', spec ? constraintText(spec) : undefined);
      field('view', `${found.item.name} (version ${found.item.version})`);
      field('ttl', found.item.ttl ?? 'none');
      field('online', found.item.online ? 'yes' : 'no');
      field('used by services', servicesUsing(registry, found.item.name, found.feature));
      return;
    }
  }
}
