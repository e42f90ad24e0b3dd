import type { Command } from 'commander';
import type { JoinKeyType } from '../../definitions/index.ts';
import { openLocalOnlineStore } from '../../local/local-online-store.ts';
import { integerKeyProblem } from '../../online/integer-join-keys.ts';
import {
  type FeatureResult,
  type LookupRequest,
  lookupFeatures,
} from '../../online/online-lookup.ts';
import type { Registry } from '../../registry/index.ts';
import { CliError, UsageError } from '../cli-error.ts';
import { CliContext } from '../context.ts';

interface GetOptions {
  service?: string;
  view?: string;
  entity: string[];
  json?: boolean;
  url?: string;
}

type JoinKeys = readonly { name: string; type: JoinKeyType }[];

/**
 * `--entity customer_id=C1` (several keys: `--entity bank_id=1,card=4111`) to a key object, each
 * value typed as its join key: an integer key as a number, an int64 beyond 2^53 as its decimal
 * text (the HTTP API takes it so, and a number would lose digits). `which` is the 1-based place
 * of this --entity among the others, for the error.
 */
function parseEntity(
  text: string,
  which: number,
  joinKeys: JoinKeys,
): Record<string, string | number> {
  const where = `--entity #${which} "${text}"`;
  const expected = joinKeys.map((k) => k.name).join(',');
  const entity: Record<string, string | number> = {};
  for (const part of text.split(',')) {
    const at = part.indexOf('=');
    if (at <= 0)
      throw new UsageError(`${where} is not key=value`, `write --entity ${expected}=...`);
    const name = part.slice(0, at);
    const key = joinKeys.find((k) => k.name === name);
    if (!key)
      throw new UsageError(
        `${where}: "${name}" is not a join key here; expected ${expected}`,
        `write --entity ${joinKeys.map((k) => `${k.name}=...`).join(',')}`,
      );
    const value = keyValue(key.type, part.slice(at + 1));
    const problem =
      key.type === 'string'
        ? value === ''
          ? 'is empty'
          : undefined
        : integerKeyProblem(key.type, value);
    if (problem) throw new UsageError(`${where}: ${name} ${problem}`, `${name} is ${key.type}`);
    entity[name] = value;
  }
  const missing = joinKeys.find((k) => !Object.hasOwn(entity, k.name));
  if (missing)
    throw new UsageError(
      `${where}: join key "${missing.name}" is missing`,
      `write --entity ${joinKeys.map((k) => `${k.name}=...`).join(',')}`,
    );
  return entity;
}

/** The command line's text as the lookup takes it: a number where it is a safe integer of an integer key. */
function keyValue(type: JoinKeyType, raw: string): string | number {
  if (type === 'string' || !/^-?\d+$/.test(raw)) return raw;
  const number = Number(raw);
  return Number.isSafeInteger(number) || type === 'int32' ? number : raw;
}

/** The join keys of the selected views, each name once. */
function joinKeysOf(registry: Registry, selection: LookupRequest['views']): JoinKeys {
  return selection
    .flatMap(({ view }) => registry.featureViews.find((v) => v.name === view)?.joinKeys ?? [])
    .filter((k, i, all) => all.findIndex((o) => o.name === k.name) === i);
}

export function registerGet(program: Command): void {
  program
    .command('get')
    .description('Look up online features for entities, like the HTTP API, and print a table')
    .option('--service <name>', 'feature service')
    .option('--view <name>', 'feature view')
    .requiredOption(
      '--entity <key=value...>',
      'entity keys, repeatable: --entity customer_id=C000001 --entity customer_id=C000002',
      (value: string, previous: string[] = []) => [...previous, value],
    )
    .option('--json', 'print JSON')
    .option(
      '--url <url>',
      'ask this lookup API server over HTTP (default: read the local online store, through the running start/serve when one holds it, whatever its port)',
    )
    .action(async (options: GetOptions, command: Command) => {
      if (!options.service === !options.view)
        throw new UsageError(
          'pass exactly one of --service and --view',
          'e.g. --service churn_online',
        );
      const ctx = CliContext.fromCommand(command);
      const registry = await ctx.compile();
      const selection = selectionFor(registry, options);
      const joinKeys = joinKeysOf(registry, selection);
      const entities = options.entity.map((text, i) => parseEntity(text, i + 1, joinKeys));
      const results = await lookupLocally(ctx, registry, selection, entities, options.url);
      if (options.json) {
        ctx.out.json(results.map((features, i) => ({ entity: entities[i], features })));
        return;
      }
      const names = selection.flatMap((v) => v.features.map((f) => f.outputName));
      ctx.out.table(
        ['entity', ...names],
        results.map((features, i) => [
          Object.values(entities[i] ?? {}).join(','),
          ...names.map((n) => cell(features[n])),
        ]),
      );
    });
}

/** The features to look up, grouped by view: a service's, or all of one view's. */
function selectionFor(registry: Registry, options: GetOptions): LookupRequest['views'] {
  if (options.service) {
    const service = registry.featureServices.find((s) => s.name === options.service);
    if (!service)
      throw new UsageError(
        `no feature service "${options.service}"`,
        `known: ${registry.featureServices.map((s) => s.name).join(', ')}`,
      );
    return [...new Set(service.features.map((f) => f.view))].map((view) => ({
      view,
      features: service.features
        .filter((f) => f.view === view)
        .map((f) => ({ feature: f.feature, outputName: f.outputName })),
    }));
  }
  const view = registry.featureViews.find((v) => v.name === options.view);
  if (!view)
    throw new UsageError(
      `no feature view "${options.view}"`,
      `known: ${registry.featureViews.map((v) => v.name).join(', ')}`,
    );
  return [
    {
      view: view.name,
      features: view.features.map((f) => ({ feature: f.name, outputName: f.name })),
    },
  ];
}

/**
 * Reads the local online store: directly, or through the store of the running
 * `fstore serve`/`npm start` that holds it (found by the endpoint it publishes under
 * `.fstore/<env>/`, whatever port it serves on). With `--url`, asks that server over HTTP.
 */
async function lookupLocally(
  ctx: CliContext,
  registry: Registry,
  selection: LookupRequest['views'],
  entities: LookupRequest['entities'],
  url: string | undefined,
): Promise<Record<string, FeatureResult>[]> {
  if (url) return lookupOverHttp(url, selection, entities);
  const store = await openLocalOnlineStore(ctx.options.dataDir, ctx.env, { attach: true });
  try {
    return await lookupFeatures(store.client, store.table, registry, {
      views: selection,
      entities,
    });
  } finally {
    await store.close();
  }
}

async function lookupOverHttp(
  url: string,
  selection: LookupRequest['views'],
  entities: LookupRequest['entities'],
): Promise<Record<string, FeatureResult>[]> {
  const results: Record<string, FeatureResult>[] = entities.map(() => ({}));
  for (const { view, features } of selection) {
    const response = await fetch(`${url}/v1/feature-views/${view}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ entities, features: features.map((f) => f.feature) }),
    }).catch((error: unknown) => {
      throw new CliError(`no lookup API server answers at ${url}: ${(error as Error).message}`, {
        hint: 'check --url, or leave it out to read the local online store',
      });
    });
    const body = (await response.json()) as {
      results?: { features: Record<string, FeatureResult> }[];
      error?: { message: string };
    };
    if (!response.ok || !body.results)
      throw new CliError(
        `the server at ${url} answered ${response.status}: ${body.error?.message ?? 'no results'}`,
      );
    body.results.forEach((result, index) => {
      for (const { feature, outputName } of features) {
        const value = result.features[feature];
        if (value) (results[index] as Record<string, FeatureResult>)[outputName] = value;
      }
    });
  }
  return results;
}

function cell(result: { value: unknown; status: string } | undefined): string {
  if (!result) return '';
  if (result.status === 'PRESENT')
    return typeof result.value === 'string' ? result.value : JSON.stringify(result.value);
  return result.status;
}
