import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  compileRegistry,
  lineageGraph,
  lineageOf,
  loadDefinitions,
  type Registry,
} from '../../../lib/registry/index.ts';
import { planRegistryChanges } from '../../../lib/registry/plan.ts';
import { repoRoot } from '../../helpers/run-fstore.ts';

const registry: Registry = compileRegistry(
  await loadDefinitions(path.join(repoRoot, 'feature-defs')),
);
const services = (name: string) =>
  [
    ...new Set(
      lineageOf(registry, name)
        ?.downstream.filter((e) => e.to.startsWith('featureService:'))
        .map((e) => e.to),
    ),
  ].sort();

describe('lineage of the example feature repository', () => {
  it('traces a service back to its views, features, columns and sources', () => {
    const lineage = lineageOf(registry, 'churn_online');
    expect(lineage?.node).toEqual({
      id: 'featureService:churn_online',
      kind: 'featureService',
      name: 'churn_online',
    });
    const upstream = new Set(lineage?.upstream.map((e) => e.from));
    for (const id of [
      'featureView:customer_profile',
      'featureView:customer_contract',
      'featureView:last_order',
      'feature:customer_profile.plan',
      'column:customer_profiles.plan',
      'source:customer_profiles',
      'source:customer_contracts',
      'source:orders',
      'entity:customer',
    ])
      expect(upstream, id).toContain(id);
    expect(upstream).not.toContain('feature:customer_profile.age');
    expect(lineage?.downstream).toEqual([]);
  });

  it('names the transformation and the output name a service gives a feature', () => {
    const lineage = lineageOf(registry, 'last_order:amount');
    expect(lineage?.upstream).toContainEqual(
      expect.objectContaining({
        from: 'column:orders.amount',
        to: 'feature:last_order.amount',
        relation: 'passthrough',
        depth: 1,
      }),
    );
    expect(lineage?.downstream).toContainEqual(
      expect.objectContaining({
        to: 'featureService:churn_v1',
        relation: 'serves as churn_v1.last_order_amount',
      }),
    );
  });

  it('lists the services a source column reaches, and only those', () => {
    expect(services('orders.category')).toEqual(['featureService:churn_v1']);
    expect(services('orders.amount')).toEqual([
      'featureService:churn_online',
      'featureService:churn_v1',
    ]);
    expect(services('customer_profiles')).toEqual([
      'featureService:churn_online',
      'featureService:churn_v1',
    ]);
    expect(services('customer')).toEqual([
      'featureService:churn_online',
      'featureService:churn_v1',
    ]);
  });

  it('finds nothing for an unknown name', () => {
    expect(lineageOf(registry, 'nope')).toBeUndefined();
  });

  it('lets the plan list the services a changed view affects', () => {
    const next: Registry = {
      ...registry,
      version: 'changed',
      featureViews: registry.featureViews.map((v) =>
        v.name === 'last_order' ? { ...v, ttl: '30d', ttlSeconds: 2_592_000 } : v,
      ),
    };
    const change = planRegistryChanges(registry, next).changes.find((c) => c.name === 'last_order');
    expect(change?.affectedServices).toEqual(['churn_online', 'churn_v1']);
  });

  it('is a graph of unique node ids whose edges all join known nodes', () => {
    const graph = lineageGraph(registry);
    const ids = new Set(graph.nodes.map((n) => n.id));
    expect(ids.size).toBe(graph.nodes.length);
    for (const edge of graph.edges) {
      expect(ids, edge.from).toContain(edge.from);
      expect(ids, edge.to).toContain(edge.to);
    }
  });
});
