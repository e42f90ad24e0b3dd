import { type Command, Option } from 'commander';
import { isLocalEnv } from '../../data-paths.ts';
import { requestSources } from '../../offline/request-sources.ts';
import type { Snapshot, SnapshotWanted } from '../../offline/snapshot-format.ts';
import {
  createSnapshot,
  deleteSnapshot,
  findSnapshot,
  listSnapshots,
} from '../../offline/snapshots.ts';
import { UsageError } from '../cli-error.ts';
import { CliContext } from '../context.ts';
import { breakLockOption, checkBreakLock, lockWaitMs, lockWaitOption } from './s3-lock-options.ts';

/** Where an environment's snapshots are: the local list, or the offline bucket of an AWS one. */
export interface SnapshotBackend {
  /** On AWS, `lock` says how long to wait for its sources' locks and which owner to take over. */
  create(wanted: SnapshotWanted, lock?: SnapshotLockOptions): Promise<Snapshot>;
  list(): Promise<Snapshot[]>;
  find(name: string): Promise<Snapshot>;
  delete(name: string): Promise<Snapshot>;
}

export interface SnapshotLockOptions {
  readonly waitMs: number;
  readonly breakOwner?: string;
  readonly onWait: (message: string) => void;
}

const description =
  'Name the offline data as it is now (per source, the ingests committed: no copy) so training sets can read it later with --snapshot';

export function registerSnapshot(program: Command): void {
  const snapshot = program.command('snapshot').description(description);
  snapshot
    .command('create')
    .description('Pin what is committed now of every source (or of one service’s sources)')
    .requiredOption('--name <name>', 'a-z, 0-9 and _, starting with a letter (e.g. v1_baseline)')
    .option('--service <name>', 'pin only the sources this feature service reads')
    .option('--description <text>', 'what the snapshot is for')
    .option('--json', 'print the snapshot as JSON')
    .addOption(bucketOption())
    .addOption(lockWaitOption())
    .addOption(breakLockOption())
    .action(
      async (
        options: {
          name: string;
          service?: string;
          description?: string;
          json?: boolean;
          bucket?: string;
          lockWait?: number;
          breakLock?: string;
        },
        command: Command,
      ) => {
        const ctx = CliContext.fromCommand(command);
        checkBreakLock(options.breakLock, isLocalEnv(ctx.env));
        const registry = await ctx.compile();
        if (
          options.service !== undefined &&
          !registry.featureServices.some((s) => s.name === options.service)
        )
          throw new UsageError(
            `--service ${options.service} is not a feature service`,
            `services: ${registry.featureServices.map((s) => s.name).join(', ') || '(none)'}`,
          );
        const sources = options.service
          ? requestSources(registry, { service: options.service })
          : registry.sources.map((s) => s.name).sort();
        const backend = await snapshotsOf(ctx, options.bucket);
        const made = await backend.create(
          {
            name: options.name,
            sources,
            ...(options.service !== undefined ? { service: options.service } : {}),
            ...(options.description !== undefined ? { description: options.description } : {}),
          },
          {
            waitMs: lockWaitMs(options.lockWait),
            onWait: (message) => ctx.out.status(message),
            ...(options.breakLock !== undefined ? { breakOwner: options.breakLock } : {}),
          },
        );
        if (options.json) return ctx.out.json(made);
        ctx.out.line(
          `${ctx.out.c.green('✔')} snapshot ${made.name} pins ${Object.keys(made.sources).length} sources; read it with fstore training-set --snapshot ${made.name} ...`,
        );
        printSources(ctx, made);
      },
    );
  snapshot
    .command('list')
    .description('Every snapshot of the environment, oldest first')
    .option('--json', 'print JSON')
    .addOption(bucketOption())
    .action(async (options: { json?: boolean; bucket?: string }, command: Command) => {
      const ctx = CliContext.fromCommand(command);
      const snapshots = await (await snapshotsOf(ctx, options.bucket)).list();
      if (options.json) return ctx.out.json({ snapshots });
      if (snapshots.length === 0) {
        ctx.out.line('no snapshots (create one with fstore snapshot create --name <name>)');
        return;
      }
      ctx.out.table(
        ['name', 'created', 'service', 'sources', 'description'],
        snapshots.map((s) => [
          s.name,
          s.createdAt,
          s.service ?? '',
          String(Object.keys(s.sources).length),
          s.description ?? '',
        ]),
      );
    });
  snapshot
    .command('show')
    .description('One snapshot: what it pins of each source')
    .requiredOption('--name <name>', 'the snapshot')
    .option('--json', 'print JSON')
    .addOption(bucketOption())
    .action(
      async (options: { name: string; json?: boolean; bucket?: string }, command: Command) => {
        const ctx = CliContext.fromCommand(command);
        const found = await (await snapshotsOf(ctx, options.bucket)).find(options.name);
        if (options.json) return ctx.out.json(found);
        ctx.out.line(
          `snapshot ${found.name}, created ${found.createdAt}${found.service ? ` for service ${found.service}` : ''}${found.description ? `: ${found.description}` : ''}`,
        );
        printSources(ctx, found);
      },
    );
  snapshot
    .command('delete')
    .description('Remove a snapshot (the data stays; retention may then delete what it pinned)')
    .requiredOption('--name <name>', 'the snapshot')
    .option('--json', 'print JSON')
    .addOption(bucketOption())
    .action(
      async (options: { name: string; json?: boolean; bucket?: string }, command: Command) => {
        const ctx = CliContext.fromCommand(command);
        const removed = await (await snapshotsOf(ctx, options.bucket)).delete(options.name);
        if (options.json) return ctx.out.json({ deleted: removed.name });
        ctx.out.line(`${ctx.out.c.green('✔')} snapshot ${removed.name} deleted`);
      },
    );
}

function bucketOption(): Option {
  return new Option(
    '--bucket <name>',
    'AWS environments: the offline bucket (stack output OfflineBucketName), where snapshots are stored',
  ).env('FSTORE_OFFLINE_BUCKET');
}

/** The local snapshot list, or (loading the AWS SDK only then) the AWS environment's bucket. */
export async function snapshotsOf(
  ctx: CliContext,
  bucket: string | undefined,
): Promise<SnapshotBackend> {
  if (isLocalEnv(ctx.env)) {
    const { dataDir } = ctx.options;
    return {
      create: (wanted) => createSnapshot(dataDir, ctx.env, wanted),
      list: () => listSnapshots(dataDir, ctx.env),
      find: (name) => findSnapshot(dataDir, ctx.env, name),
      delete: (name) => deleteSnapshot(dataDir, ctx.env, name),
    };
  }
  if (!bucket)
    throw new UsageError(
      `snapshots of "${ctx.env}" are stored in its offline bucket`,
      'pass --bucket <name> (stack output OfflineBucketName) or set FSTORE_OFFLINE_BUCKET',
    );
  const { awsSnapshots } = await import('./snapshot-aws.ts');
  return awsSnapshots(ctx.env, bucket);
}

function printSources(ctx: CliContext, snapshot: Snapshot): void {
  ctx.out.table(
    ['source', 'fstore_seq <=', 'ingests'],
    Object.entries(snapshot.sources).map(([source, seq]) => [
      source,
      BigInt(seq.maxSeq).toLocaleString('en-US'),
      String(seq.ingestIds.length),
    ]),
  );
}
