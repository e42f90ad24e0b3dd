import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { makeTempDir, runFstore } from '../helpers/run-fstore.ts';

describe('fstore lineage', () => {
  it('prints upstream sources and downstream services of a view', async () => {
    const result = await runFstore(['lineage', 'last_order']);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain('featureView last_order');
    expect(result.stdout).toContain('source orders');
    expect(result.stdout).toContain('services affected by a change: churn_online, churn_v1');
  });

  it('gives the graph as JSON', async () => {
    const result = await runFstore(['lineage', 'orders.category', '--json']);
    expect(result.code, result.stderr).toBe(0);
    const lineage = JSON.parse(result.stdout);
    expect(lineage.node.kind).toBe('column');
    expect(lineage.downstream.map((e: { to: string }) => e.to)).toContain(
      'featureService:churn_v1',
    );
    expect(lineage.downstream.map((e: { to: string }) => e.to)).not.toContain(
      'featureService:churn_online',
    );
  });

  it('fails with a suggestion for an unknown name', async () => {
    const result = await runFstore(['lineage', 'last_ordr']);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('nothing named "last_ordr"');
    expect(result.stderr).toContain('did you mean "last_order"');
  });
});

describe('fstore quarantine list', () => {
  it('counts quarantined rows per broken rule and shows examples', async () => {
    const dataDir = await makeTempDir('quarantine');
    const dir = path.join(dataDir, 'local', 'quarantine', 'customer_profile');
    await mkdir(dir, { recursive: true });
    const line = (id: string, reasons: string[]) =>
      JSON.stringify({ view: 'customer_profile', runId: 'r1', reasons, row: { customer_id: id } });
    await writeFile(
      path.join(dir, 'r1.jsonl'),
      `${[
        line('C1', ['age = 7 is below min 18']),
        line('C2', ['age = 3 is below min 18', 'plan is null but the feature is not nullable']),
        line('C3', ['plan is null but the feature is not nullable']),
      ].join('\n')}\n`,
    );
    const result = await runFstore([
      '--data-dir',
      dataDir,
      'quarantine',
      'list',
      '--view',
      'customer_profile',
      '--json',
    ]);
    expect(result.code, result.stderr).toBe(0);
    const [run] = JSON.parse(result.stdout);
    expect(run).toMatchObject({
      runId: 'r1',
      rows: 3,
      rules: { 'age below min 18': 2, 'plan is null but the feature is not nullable': 2 },
    });
    expect(run.examples).toHaveLength(3);
    const text = await runFstore([
      '--data-dir',
      dataDir,
      'quarantine',
      'list',
      '--view',
      'customer_profile',
    ]);
    expect(text.stdout).toContain('age below min 18: 2');
  });

  it('refuses an unknown view with the list of views', async () => {
    const result = await runFstore(['quarantine', 'list', '--view', 'nope']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--view nope is not a feature view');
  });
});
