/**
 * bench:online's on-demand case (issue 18 §3): the lookup handler answering a service with an
 * on-demand view (`bench_service_on_demand`: the 50 stored features plus `basket_ratio`, one
 * request value, two stored inputs, two outputs) against the same handler answering the same
 * service without it (`bench_service`), same entities, same items, interleaved blocks. Target:
 * p50 overhead ≤ 5 % at 100 entities. Run twice: against dynalite (what a lookup costs), and
 * on the items captured from dynalite (the handler's own CPU, without the store's I/O, which
 * otherwise hides the transform's share in its noise).
 */
import type { BatchGetItemOutput } from '@aws-sdk/client-dynamodb';
import { localLambdaContext } from '../lambdas/online-lookup/handler.ts';
import { createBatchGetLookupHandler } from '../lambdas/online-lookup/lookup-handler.ts';
import { transformOf } from '../lib/on-demand/transform-catalog.ts';
import type { BatchGetItems } from '../lib/online/dynamodb-batch-get/batch-get-items.ts';
import { lookupRegistryProjection } from '../lib/registry/runtime-projection.ts';
import { describeInterleave, interleave, median, percentile } from './interleave.ts';
import { benchOnDemandRegistry, benchOnDemandService } from './online-fixture.ts';

export const ON_DEMAND_TARGET_RATIO = 1.05;

export interface OnDemandRow {
  readonly store: 'dynalite' | 'captured items';
  readonly entities: number;
  readonly on_demand_p50_ms: number;
  readonly on_demand_p99_ms: number;
  readonly plain_p50_ms: number;
  readonly plain_p99_ms: number;
  readonly ratio_p50: number;
  readonly median_pair_ratio: number;
  readonly on_demand_cpu_ms: number;
  readonly plain_cpu_ms: number;
  readonly target_met: boolean;
}

interface Block {
  readonly samples: number[];
  readonly p50: number;
  readonly cpuMs: number;
}

/** The request value each entity sends: baskets from 20 to 219. */
const basketOf = (index: number) => 20 + ((index * 37) % 200);

export async function benchOnDemandLookups(options: {
  readonly batchGet: BatchGetItems;
  readonly table: string;
  readonly ids: readonly string[];
  readonly runs: number;
  readonly iterations: number;
  readonly counts: readonly number[];
  readonly log: (line: string) => void;
}): Promise<OnDemandRow[]> {
  const { table, ids, runs, iterations, log } = options;
  const captured = new Map<string, NonNullable<BatchGetItemOutput['Responses']>[string][number]>();
  const recording: BatchGetItems = async (input, call) => {
    const output = await options.batchGet(input, call);
    for (const item of output.Responses?.[table] ?? []) {
      const pk = item.pk?.S;
      if (pk !== undefined) captured.set(pk, item);
    }
    return output;
  };
  const replaying: BatchGetItems = async (input) => ({
    Responses: {
      [table]: (input.RequestItems?.[table]?.Keys ?? []).flatMap((key) => {
        const item = captured.get(key.pk?.S ?? '');
        return item ? [item] : [];
      }),
    },
    UnprocessedKeys: {},
  });
  const registry = lookupRegistryProjection(benchOnDemandRegistry());
  const handlerOn = (batchGet: BatchGetItems) =>
    createBatchGetLookupHandler({
      registry,
      batchGet,
      config: { tableName: table, maxEntities: 1000, maxBodyBytes: 262_144, cacheTtlMs: 0 },
      // As the Lambda finds them: by view name (its bundle and registry come from one synthesis).
      transformFor: (view) => transformOf(view.name),
    });
  const rows: OnDemandRow[] = [];
  for (const store of ['dynalite', 'captured items'] as const) {
    const handler = handlerOn(store === 'dynalite' ? recording : replaying);
    for (const count of options.counts) {
      const entities = ids.slice(0, count);
      const plainBody = JSON.stringify({
        entities: entities.map((customer_id) => ({ customer_id })),
      });
      const onDemandBody = JSON.stringify({
        entities: entities.map((customer_id, i) => ({ customer_id, basket_amount: basketOf(i) })),
      });
      const lookup = async (service: string, body: string) => {
        const response = await handler(
          {
            rawPath: `/v1/features/${service}`,
            body,
            requestContext: { http: { method: 'POST' } },
          },
          localLambdaContext,
        );
        if (response.statusCode !== 200) throw new Error(response.body);
        return response.body;
      };
      checkAnswers(
        await lookup('bench_service', plainBody),
        await lookup(benchOnDemandService, onDemandBody),
      );
      const timed = await interleave({
        runs,
        ours: () => block(iterations, () => lookup(benchOnDemandService, onDemandBody)),
        baseline: () => block(iterations, () => lookup('bench_service', plainBody)),
        value: (b) => b.p50,
      });
      const row: OnDemandRow = {
        store,
        entities: count,
        on_demand_p50_ms: round(timed.oursMedian),
        on_demand_p99_ms: round(
          percentile(
            timed.pairs.flatMap((p) => p.ours.samples),
            99,
          ),
        ),
        plain_p50_ms: round(timed.baselineMedian),
        plain_p99_ms: round(
          percentile(
            timed.pairs.flatMap((p) => p.baseline.samples),
            99,
          ),
        ),
        ratio_p50: round(timed.ratioOfMedians, 3),
        median_pair_ratio: round(timed.medianPairRatio, 3),
        on_demand_cpu_ms: round(median(timed.pairs.map((p) => p.ours.cpuMs)), 3),
        plain_cpu_ms: round(median(timed.pairs.map((p) => p.baseline.cpuMs)), 3),
        target_met: timed.ratioOfMedians <= ON_DEMAND_TARGET_RATIO,
      };
      rows.push(row);
      log(
        `on-demand view, ${store}, ${String(count).padStart(3)} entities: with it p50 ${row.on_demand_p50_ms} ms p99 ${row.on_demand_p99_ms} ms | without p50 ${row.plain_p50_ms} ms p99 ${row.plain_p99_ms} ms | ratio p50 ${row.ratio_p50} (median pair ${row.median_pair_ratio}; target ≤ ${ON_DEMAND_TARGET_RATIO}: ${row.target_met ? 'met' : 'NOT met'}); CPU per lookup ${row.on_demand_cpu_ms} vs ${row.plain_cpu_ms} ms`,
      );
      for (const line of describeInterleave(timed, 'ms p50', 3)) log(line);
    }
  }
  return rows;
}

async function block(iterations: number, run: () => Promise<unknown>): Promise<Block> {
  const cpu = process.cpuUsage();
  for (let i = 0; i < 20; i++) await run();
  const samples: number[] = [];
  for (let i = 0; i < iterations; i++) {
    const started = performance.now();
    await run();
    samples.push(performance.now() - started);
  }
  const used = process.cpuUsage(cpu);
  return {
    samples,
    p50: percentile(samples, 50),
    cpuMs: (used.user + used.system) / 1000 / (iterations + 20),
  };
}

interface Answer {
  results: { entity: unknown; features: Record<string, { value: unknown; status: string }> }[];
}

/**
 * Both services answer every stored feature alike (all PRESENT), and the on-demand one adds
 * basket_to_monthly and big_basket as the transform computes them; else the bench would time a
 * wrong answer.
 */
function checkAnswers(plainText: string, onDemandText: string): void {
  const plain = JSON.parse(plainText) as Answer;
  const onDemand = JSON.parse(onDemandText) as Answer;
  onDemand.results.forEach((result, i) => {
    const { basket_to_monthly, big_basket, ...stored } = result.features;
    const expected = plain.results[i]?.features ?? {};
    if (JSON.stringify(stored) !== JSON.stringify(expected))
      throw new Error(`entity ${i}: the stored features differ between the two services`);
    if (Object.values(expected).some((f) => f.status !== 'PRESENT'))
      throw new Error(`entity ${i}: a stored feature is not PRESENT; the items were not written`);
    const monthly = expected.v0_f1?.value as number;
    const basket = basketOf(i);
    const wantRatio = monthly ? basket / monthly : null;
    const wantBig = basket > 2 * (expected.v0_f2?.value as number);
    if (basket_to_monthly?.value !== wantRatio || big_basket?.value !== wantBig)
      throw new Error(
        `entity ${i}: on-demand values ${JSON.stringify([basket_to_monthly, big_basket])}, expected ${JSON.stringify([wantRatio, wantBig])}`,
      );
  });
}

const round = (value: number, digits = 2) => Number(value.toFixed(digits));
