import type { Command } from 'commander';

/**
 * One command of the CLI as the program's own help lists it, and how to load its definition.
 * The CLI loads only the command it runs (a command module imports what its action needs:
 * DuckDB, the AWS SDK, the registry compiler), so `fstore --version` and `fstore --help` load
 * none of them. test/unit/cli/command-index.test.ts checks these entries against the commands.
 */
export interface CommandIndexEntry {
  readonly name: string;
  /** The command as `fstore --help` lists it: name, `[options]` and arguments. */
  readonly term: string;
  readonly description: string;
  /** Loads the command's module and returns the function that adds the command to the program. */
  readonly load: () => Promise<(program: Command) => void>;
}

/** Every command, in the order `fstore --help` lists them. */
export const commandIndex: readonly CommandIndexEntry[] = [
  {
    name: 'validate',
    term: 'validate [options]',
    description:
      'Load and check every definition in the definitions folder and compile the registry',
    load: async () => (await import('./commands/validate.ts')).registerValidate,
  },
  {
    name: 'list',
    term: 'list [options] [kind]',
    description:
      'List definitions as tables: views, services, features, entities, sources (default: views and services)',
    load: async () => (await import('./commands/list.ts')).registerList,
  },
  {
    name: 'describe',
    term: 'describe [options] [name]',
    description:
      'Show everything about one entity, source, feature view, feature service or feature (view__feature)',
    load: async () => (await import('./commands/describe.ts')).registerDescribe,
  },
  {
    name: 'iam-policy',
    term: 'iam-policy [options]',
    description:
      'Print the IAM policy document for a role outside this CDK app: the statements the CDK grants give (training: Athena, Glue, requests/ and training-sets/; lookup: the lookup routes; push: the push route only; stream-producer: writing records to the Kinesis streams of the sources; ingest: ingest --env <aws>; compact: compact --env <aws>; erasure: delete --env <aws>, the statements of the stack’s ErasureOperatorPolicyArn)',
    load: async () => (await import('./commands/iam-policy.ts')).registerIamPolicy,
  },
  {
    name: 'lineage',
    term: 'lineage [options] <name>',
    description:
      'Show where a feature, view, source, column, service or entity comes from (upstream) and what uses it (downstream)',
    load: async () => (await import('./commands/lineage.ts')).registerLineage,
  },
  {
    name: 'plan',
    term: 'plan [options]',
    description:
      'Show what changed since the registry was last applied (local) or deployed (AWS), marking each change metadata-only, safe or breaking',
    load: async () => (await import('./commands/plan.ts')).registerPlan,
  },
  {
    name: 'apply',
    term: 'apply [options]',
    description:
      'Record the compiled registry as applied for a local environment (AWS environments are applied by cdk deploy)',
    load: async () => (await import('./commands/apply.ts')).registerApply,
  },
  {
    name: 'demo-data',
    term: 'demo-data [options]',
    description:
      'Write deterministic demo data for the churn example sources (one file per source)',
    load: async () => (await import('./commands/demo-data.ts')).registerDemoData,
  },
  {
    name: 'ingest',
    term: 'ingest [options]',
    description:
      'Validate a CSV, Parquet or JSON-lines file against a source schema and add it to the offline store (all or nothing)',
    load: async () => (await import('./commands/ingest.ts')).registerIngest,
  },
  {
    name: 'push',
    term: 'push [options]',
    description:
      'Write rows of a .jsonl, .csv or .parquet file (or, with --follow, JSON lines from stdin) to a source now, as POST /v1/push/{source} does: its online views, and its offline store (local environments); --compact ingests waiting push logs',
    load: async () => (await import('./commands/push.ts')).registerPush,
  },
  {
    name: 'compact',
    term: 'compact [options]',
    description:
      'Ingest the push logs waiting for the offline store (local), then merge the small files earlier ingests left in each dt partition into files of the target size (one commit; rows and results unchanged)',
    load: async () => (await import('./commands/compact.ts')).registerCompact,
  },
  {
    name: 'delete',
    term: 'delete [options]',
    description:
      'Delete every row and item of entities (right to erasure): offline rows of every source with a column of the key (files rewritten, one commit; compaction-replaced files holding it deleted), quarantined rows, running totals and online items of every view; audited with hashed keys. On AWS: objects found with Athena, rewritten under one commit record per source, the old ones deleted with every version',
    load: async () => (await import('./commands/delete.ts')).registerDelete,
  },
  {
    name: 'retention',
    term: 'retention [options]',
    description:
      "Delete offline rows older than each source's retention (its own, else the environment's offline.retention): whole dt partitions before the boundary, the boundary partition rewritten without the older rows (one commit); reports files, rows and bytes freed",
    load: async () => (await import('./commands/retention.ts')).registerRetention,
  },
  {
    name: 'training-set',
    term: 'training-set [options]',
    description:
      'Build a point-in-time-correct training set: each entity row gets the feature values as of its timestamp',
    load: async () => (await import('./commands/training-set.ts')).registerTrainingSet,
  },
  {
    name: 'snapshot',
    term: 'snapshot',
    description:
      'Name the offline data as it is now (per source, the ingests committed: no copy) so training sets can read it later with --snapshot',
    load: async () => (await import('./commands/snapshot.ts')).registerSnapshot,
  },
  {
    name: 'materialize',
    term: 'materialize [options]',
    description:
      'Write the newest offline row per entity of online views to the online store: the rows ingested since each view’s last run (all of them on its first run), or a backfill of --start/--end',
    load: async () => (await import('./commands/materialize.ts')).registerMaterialize,
  },
  {
    name: 'status',
    term: 'status [options]',
    description:
      'Show each online view’s materialization: watermark, last run, rows written, freshness lag',
    load: async () => (await import('./commands/status.ts')).registerStatus,
  },
  {
    name: 'quarantine',
    term: 'quarantine',
    description:
      'Inspect rows materialization kept out of the online store, and stream records the stream function refused',
    load: async () => (await import('./commands/quarantine.ts')).registerQuarantine,
  },
  {
    name: 'validate-data',
    term: 'validate-data [options]',
    description:
      'Check a view’s data-quality rules over its offline data; exit code 1 when any fails (for CI)',
    load: async () => (await import('./commands/validate-data.ts')).registerValidateData,
  },
  {
    name: 'stats',
    term: 'stats [options]',
    description: 'Statistics of a view’s features over its offline data, computed by the engine',
    load: async () => (await import('./commands/stats-drift.ts')).registerStats,
  },
  {
    name: 'drift',
    term: 'drift [options]',
    description:
      'PSI per feature between two event-time ranges; writes an HTML report with histograms',
    load: async () => (await import('./commands/stats-drift.ts')).registerDrift,
  },
  {
    name: 'verify-online',
    term: 'verify-online [options]',
    description:
      'Compare online items with the offline point-in-time values at their materialization time; exit 1 on any mismatch',
    load: async () => (await import('./commands/verify-online.ts')).registerVerifyOnline,
  },
  {
    name: 'serve',
    term: 'serve [options]',
    description:
      'Serve the HTTPS lookup API locally (same handler as the Lambda) on the local online store',
    load: async () => (await import('./commands/serve.ts')).registerServe,
  },
  {
    name: 'get',
    term: 'get [options]',
    description: 'Look up online features for entities, like the HTTP API, and print a table',
    load: async () => (await import('./commands/get.ts')).registerGet,
  },
  {
    name: 'start',
    term: 'start [options]',
    description:
      'Run the whole store locally (what `npm start` runs): validate the definitions, apply them to env "local", generate and ingest the demo data (first start only), materialize the online views, then serve the lookup API with their schedules until Ctrl-C',
    load: async () => (await import('./commands/start.ts')).registerStart,
  },
  {
    name: 'reset',
    term: 'reset [options]',
    description: 'Delete a local environment: applied registry, offline and online data, demo data',
    load: async () => (await import('./commands/reset.ts')).registerReset,
  },
  {
    name: 'export',
    term: 'export [options]',
    description:
      'Write an environment’s registry history, lineage, ingest manifest or commit records, snapshots, audit (and its key) and watermarks (with --include-data also its committed offline data and quarantined rows) into a folder, every file listed with its sha256; local or AWS (--env <aws>: from its buckets)',
    load: async () => (await import('./commands/export.ts')).registerExport,
  },
  {
    name: 'import',
    term: 'import [options] <dir>',
    description:
      'Restore a folder written by fstore export into a new, empty environment (--env), after checking every file’s sha256: a local export into a local environment, an AWS export into an AWS environment deployed with the same feature-defs (commit records written last); the online store starts empty (fstore materialize fills it)',
    load: async () => (await import('./commands/import.ts')).registerImport,
  },
  {
    name: 'doctor',
    term: 'doctor [options]',
    description:
      'Check that this machine can run fstore: Node.js, native modules, disk space, Java (optional)',
    load: async () => (await import('./commands/doctor.ts')).registerDoctor,
  },
];
