import type { Command } from 'commander';

/** `YYYY-MM-DD` of the UTC day `daysAgo` days before today. */
function day(daysAgo: number, now: Date): string {
  const date = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate()));
  date.setUTCDate(date.getUTCDate() - daysAgo);
  return date.toISOString().slice(0, 10);
}

/**
 * The "Examples:" of each command's --help, keyed by command path (`quarantine list`). Each one
 * works when pasted in the project folder against the demo store `npm start` sets up (env
 * `local`, churn definitions, demo data of the 90 days up to today); dates are computed from
 * today so the ranges fall inside that data.
 */
export function commandExamples(now = new Date()): Readonly<Record<string, readonly string[]>> {
  const entities = '.fstore/local/demo-data/entities.csv';
  return {
    validate: ['npx fstore validate', 'npx fstore validate --out /tmp/registry.json --json'],
    list: ['npx fstore list', 'npx fstore list views', 'npx fstore list features --json'],
    describe: [
      'npx fstore describe customer_profile',
      'npx fstore describe churn_v1 --json',
      'npx fstore describe customer_profile__monthly_charges',
      'npx fstore describe --outputs   # with --env <aws>: the stack outputs a training job needs',
    ],
    'iam-policy': [
      'npx fstore iam-policy --env prod --for training   # names from the stack outputs',
      'npx fstore iam-policy --env prod --for training --account 111122223333 --region eu-west-1 --bucket my-offline-bucket',
      'npx fstore iam-policy --env prod --for lookup --account 111122223333 --region eu-west-1 --api-id a1b2c3d4e5 --json',
      'npx fstore iam-policy --env prod --for push --source orders --account 111122223333 --region eu-west-1 --api-id a1b2c3d4e5   # a producer of orders only',
      'npx fstore iam-policy --env prod --for stream-producer --source clicks --account 111122223333 --region eu-west-1   # writes to the clicks Kinesis stream',
    ],
    lineage: ['npx fstore lineage churn_online', 'npx fstore lineage orders --json'],
    plan: ['npx fstore plan', 'npx fstore plan --json'],
    apply: ['npx fstore apply', 'npx fstore apply --json'],
    'demo-data': [
      'npx fstore demo-data --customers 100 --days 30 --format csv --out /tmp/fstore-demo',
      'npx fstore demo-data --seed 7 --format csv --out /tmp/fstore-demo --json',
    ],
    ingest: [
      'npx fstore demo-data --seed 7 --format csv --out /tmp/fstore-demo   # new rows to ingest',
      'npx fstore ingest --source orders --file /tmp/fstore-demo/orders.csv',
      'npx fstore ingest --source customer_contracts --file /tmp/fstore-demo/customer_contracts.csv --json',
    ],
    push: [
      'npx fstore demo-data --customers 10 --days 3 --format csv --out /tmp/fstore-push   # a few fresh rows',
      'npx fstore push --source orders --file /tmp/fstore-push/orders.csv',
      'npx fstore push --source orders --file /tmp/fstore-push/orders.csv --to online --json',
      'npx fstore push --source orders --file /tmp/fstore-push/orders.csv --idempotency-key orders-batch-1   # the same command again lands the rows once',
      'npx fstore push --compact   # ingest push logs a running server left',
      'npx fstore demo-data --customers 10 --days 3 --out /tmp/fstore-push   # the same rows as Parquet',
      'npx fstore push --source orders --file /tmp/fstore-push/orders.parquet',
      `printf '{"order_id":"O-F1","customer_id":"C000001","amount":12.5,"category":"books","event_ts":"${day(1, now)}T12:00:00Z","created_ts":null}\\n' > /tmp/fstore-push/orders.jsonl`,
      'npx fstore push --source orders --follow --batch-rows 100 --batch-ms 200 < /tmp/fstore-push/orders.jsonl',
      'tail -f /tmp/fstore-push/orders.jsonl | npx fstore push --source orders --follow --json   # Ctrl-C pushes the lines read, then stops',
    ],
    retention: ['npx fstore retention --dry-run', 'npx fstore retention --source orders --json'],
    compact: [
      'npx fstore compact --dry-run',
      'npx fstore compact --source orders --json',
      'npx fstore compact --target-file-size 256MB',
      'npx fstore compact --env prod --bucket my-offline-bucket --break-lock 3f2a9c01b7d4   # the owner an "already running" error named, once that run is gone',
    ],
    delete: [
      'npx fstore delete --entity customer_id=C000001 --dry-run',
      'npx fstore delete --entity customer_id=C000001 --entity customer_id=C000002 --yes --json',
    ],
    'training-set': [
      `npx fstore training-set --service churn_v1 --entities ${entities} --out /tmp/churn_v1.parquet`,
      `npx fstore training-set --features customer_profile:plan last_order:* --full-feature-names --entities ${entities} --out /tmp/features.csv`,
      `npx fstore training-set --service churn_v1 --entities ${entities} --out /tmp/churn_v1.parquet --json`,
      `npx fstore training-set --service churn_v1 --entities ${entities} --dry-run   # the partitions and files it would read (on AWS: bytes and Athena's price)`,
      `npx fstore training-set --service churn_v1 --entities ${entities} --snapshot v1_baseline --out /tmp/churn_v1_baseline.parquet   # as of a snapshot`,
      'npx fstore training-set --replay /tmp/churn_v1.manifest.json   # rebuild it and check the hash: exit 1 with a diff summary if it differs',
      `npx fstore training-set --env dev --bucket my-offline-bucket --service churn_v1 --entities ${entities} --snapshot v1_baseline --out /tmp/churn_v1_baseline.parquet --json   # on Athena, as of an S3 snapshot`,
    ],
    snapshot: [
      'npx fstore snapshot create --name v1_baseline --service churn_v1 --description "before the backfill"',
      'npx fstore snapshot list',
    ],
    'snapshot create': [
      'npx fstore snapshot create --name v1_baseline --service churn_v1 --description "before the backfill"',
      'npx fstore snapshot create --name everything_dec --json',
      'npx fstore snapshot create --name v1_baseline --env dev --bucket my-offline-bucket --json   # stored in the offline bucket',
    ],
    'snapshot list': [
      'npx fstore snapshot list',
      'npx fstore snapshot list --json',
      'npx fstore snapshot list --env dev --bucket my-offline-bucket --json',
    ],
    'snapshot show': [
      'npx fstore snapshot show --name v1_baseline',
      'npx fstore snapshot show --name v1_baseline --json',
    ],
    'snapshot delete': [
      'npx fstore snapshot delete --name v1_baseline',
      'npx fstore snapshot delete --name v1_baseline --json',
    ],
    materialize: [
      'npx fstore materialize',
      'npx fstore materialize --view customer_profile --json',
      `npx fstore materialize --view last_order --start ${day(7, now)} --end ${day(0, now)}`,
    ],
    status: ['npx fstore status', 'npx fstore status --json'],
    quarantine: [
      'npx fstore quarantine list --view customer_profile',
      'npx fstore quarantine stream --source orders',
    ],
    'quarantine list': [
      'npx fstore quarantine list --view customer_profile',
      'npx fstore quarantine list --view customer_profile --examples 5 --json',
    ],
    'quarantine stream': [
      'npx fstore quarantine stream',
      'npx fstore --env prod quarantine stream --source orders --bucket my-offline-bucket --examples 10 --json',
    ],
    'validate-data': [
      'npx fstore validate-data --view customer_profile',
      `npx fstore validate-data --view customer_profile --start ${day(30, now)} --json`,
    ],
    stats: [
      'npx fstore stats --view customer_profile',
      `npx fstore stats --view order_stats --start ${day(30, now)} --json`,
    ],
    drift: [
      `npx fstore drift --view customer_profile --baseline ${day(90, now)}..${day(61, now)} --current ${day(30, now)}..${day(0, now)}`,
      `npx fstore drift --view customer_profile --baseline ${day(90, now)}..${day(61, now)} --current ${day(30, now)}..${day(0, now)} --json`,
    ],
    'verify-online': [
      'npx fstore verify-online --view customer_profile',
      'npx fstore verify-online --view last_order --sample 50 --json',
    ],
    serve: [
      'npx fstore serve',
      'npx fstore serve --port 0   # any free port',
      'npx fstore serve --cache-ttl-ms 5000 --compact-push-logs-every 30s',
    ],
    get: [
      'npx fstore get --service churn_online --entity customer_id=C000001',
      'npx fstore get --view order_stats --entity customer_id=C000001 --entity customer_id=C000002 --json',
    ],
    start: ['npx fstore start', 'npx fstore start --port 9000', 'npx fstore start --no-serve'],
    reset: [
      'npx fstore reset --online --yes   # rebuild with: npx fstore materialize',
      'npx fstore reset',
    ],
    export: [
      'npx fstore export --out /tmp/fstore-backup --include-data',
      'npx fstore export --out /tmp/fstore-registry-only --json',
    ],
    import: [
      'npx fstore import /tmp/fstore-backup --env local-restored   # then: npx fstore materialize --env local-restored',
      'npx fstore import /tmp/fstore-registry-only --env local-registry --json',
    ],
    doctor: ['npx fstore doctor', 'npx fstore doctor --json', 'npx fstore doctor --fix'],
  };
}

/** A command's path from the program, without the program name: `quarantine list`. */
export function commandPath(command: Command): string {
  const names: string[] = [];
  for (let at: Command | null = command; at?.parent; at = at.parent) names.unshift(at.name());
  return names.join(' ');
}

/** Adds the "Examples:" section to the help of `program`'s commands, at every depth. */
export function addExamples(program: Command, now = new Date()): void {
  const examples = commandExamples(now);
  const visit = (command: Command) => {
    for (const sub of command.commands) {
      const lines = examples[commandPath(sub)];
      if (lines)
        sub.addHelpText('after', `\nExamples:\n${lines.map((l) => `  $ ${l}`).join('\n')}`);
      visit(sub);
    }
  };
  visit(program);
}
