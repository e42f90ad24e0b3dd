/**
 * `npm run bench:materialize -- --shards 1,2,4`: the same store materialized with each shard
 * count, every pass on a fresh dynalite in its own process, in rounds that rotate the order
 * (round r starts at the r-th count), so load from other work on the machine hits every count
 * alike; `--runs N` rounds (default 3). Prints each pass, then per count the median rows/s,
 * the speed-up over the first count and the peak RSS of the materializer process, and one
 * JSON line. The local server is one dynalite process (one JavaScript thread): more shard
 * writers add requests in flight, not server capacity, so the scaling it shows is the local
 * server's, not DynamoDB's (docs/scale.md).
 */
import { median } from './interleave.ts';

export interface ShardPass {
  readonly rows: number;
  readonly seconds: number;
  readonly peakRssMb: number;
}

/** `--shards 1,2,4` → [1, 2, 4]; undefined without the option. */
export function shardCountsOption(argv = process.argv.slice(2)): number[] | undefined {
  const at = argv.indexOf('--shards');
  if (at < 0) return undefined;
  const text = argv[at + 1] ?? '';
  const counts = text.split(',').map((part) => Number(part.trim()));
  if (text === '' || counts.some((n) => !Number.isInteger(n) || n < 1 || n > 64))
    throw new Error(`--shards takes shard counts from 1 to 64 separated by commas, got "${text}"`);
  return [...new Set(counts)];
}

export async function shardsCase(options: {
  readonly counts: readonly number[];
  readonly rounds: number;
  readonly rows: number;
  readonly concurrency: number;
  readonly pass: (shards: number) => Promise<ShardPass>;
}): Promise<void> {
  const { counts, rounds, rows } = options;
  const passes = new Map<number, ShardPass[]>(counts.map((c) => [c, []]));
  process.stderr.write(
    `${rounds} rounds of shard counts ${counts.join(', ')} (order rotated each round), ${rows.toLocaleString('en-US')} rows, ${options.concurrency} puts in flight per shard, each pass on a fresh dynalite ...\n`,
  );
  for (let round = 0; round < rounds; round++) {
    for (let i = 0; i < counts.length; i++) {
      const shards = counts[(round + i) % counts.length] as number;
      const pass = await options.pass(shards);
      if (pass.rows !== rows)
        throw new Error(`${shards} shards wrote ${pass.rows} rows, expected ${rows}`);
      passes.get(shards)?.push(pass);
      process.stderr.write(
        `round ${round + 1}/${rounds}: ${shards} shard(s) ${Math.round(pass.rows / pass.seconds)} rows/s (${pass.seconds.toFixed(1)} s, peak RSS ${pass.peakRssMb} MB)\n`,
      );
    }
  }
  const figures = counts.map((shards) => {
    const list = passes.get(shards) ?? [];
    return {
      shards,
      rows_s: Math.round(median(list.map((p) => p.rows / p.seconds))),
      samples: list.map((p) => Math.round(p.rows / p.seconds)),
      peak_rss_mb: Math.max(...list.map((p) => p.peakRssMb)),
    };
  });
  const first = figures[0]?.rows_s ?? 1;
  for (const f of figures)
    console.log(
      `${String(f.shards).padStart(2)} shard(s): median ${f.rows_s} rows/s (${f.samples.join(', ')}), ×${(f.rows_s / first).toFixed(2)} of ${counts[0]} shard(s), peak RSS ${f.peak_rss_mb} MB`,
    );
  console.log(
    JSON.stringify({
      bench: 'materialize-shards',
      rows,
      rounds,
      concurrency_per_shard: options.concurrency,
      figures: figures.map((f) => ({ ...f, speedup: Number((f.rows_s / first).toFixed(2)) })),
    }),
  );
}
