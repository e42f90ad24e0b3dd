import type { RuntimeRegistry } from './runtime-projection.ts';

export type LineageKind =
  | 'entity'
  | 'source'
  | 'column'
  | 'featureView'
  | 'feature'
  | 'featureService';

export interface LineageNode {
  readonly id: string;
  readonly kind: LineageKind;
  readonly name: string;
}

export interface LineageEdge {
  readonly from: string;
  readonly to: string;
  /** How `to` comes from `from`: `has column`, `keys`, `passthrough`, `sum over 7d`, `in view`, `serves as churn_v1.plan` ... */
  readonly relation: string;
}

export interface LineageGraph {
  readonly nodes: readonly LineageNode[];
  readonly edges: readonly LineageEdge[];
}

export const nodeId = {
  entity: (name: string) => `entity:${name}`,
  source: (name: string) => `source:${name}`,
  column: (source: string, column: string) => `column:${source}.${column}`,
  featureView: (name: string) => `featureView:${name}`,
  feature: (view: string, feature: string) => `feature:${view}.${feature}`,
  featureService: (name: string) => `featureService:${name}`,
};

/**
 * Where every feature comes from and what uses it, from the registry alone: source → column
 * → feature (with its transformation) → view → service, and entity → view (join keys).
 */
export function lineageGraph(registry: RuntimeRegistry): LineageGraph {
  const nodes: LineageNode[] = [];
  const edges: LineageEdge[] = [];
  const add = (kind: LineageKind, id: string, name: string) => nodes.push({ id, kind, name });
  for (const entity of registry.entities) add('entity', nodeId.entity(entity.name), entity.name);
  for (const source of registry.sources) {
    add('source', nodeId.source(source.name), source.name);
    for (const column of source.schema) {
      const id = nodeId.column(source.name, column.name);
      add('column', id, `${source.name}.${column.name}`);
      edges.push({ from: nodeId.source(source.name), to: id, relation: 'has column' });
    }
  }
  for (const view of registry.featureViews) {
    const viewId = nodeId.featureView(view.name);
    add('featureView', viewId, view.name);
    for (const entity of view.entities)
      edges.push({ from: nodeId.entity(entity), to: viewId, relation: 'keys' });
    for (const feature of view.features) {
      const id = nodeId.feature(view.name, feature.name);
      add('feature', id, `${view.name}.${feature.name}`);
      const aggregation = view.aggregations?.find((a) => a.feature === feature.name);
      edges.push({
        from: nodeId.column(view.source, aggregation?.column ?? feature.name),
        to: id,
        relation: aggregation
          ? `${aggregation.function} over ${aggregation.window}`
          : 'passthrough',
      });
      edges.push({ from: id, to: viewId, relation: 'in view' });
    }
  }
  for (const service of registry.featureServices) {
    const serviceId = nodeId.featureService(service.name);
    add('featureService', serviceId, service.name);
    for (const view of new Set(service.features.map((f) => f.view)))
      edges.push({ from: nodeId.featureView(view), to: serviceId, relation: 'feeds' });
    for (const feature of service.features)
      edges.push({
        from: nodeId.feature(feature.view, feature.feature),
        to: serviceId,
        relation: `serves as ${service.name}.${feature.outputName}`,
      });
  }
  return { nodes, edges };
}

export interface Lineage {
  readonly node: LineageNode;
  /** Everything `node` is computed from, nearest first. */
  readonly upstream: readonly (LineageEdge & { depth: number })[];
  /** Everything computed from `node`, nearest first. */
  readonly downstream: readonly (LineageEdge & { depth: number })[];
}

/**
 * The lineage of one name: a feature (`view.feature`, `view:feature` or `view__feature`), a
 * view, a source, a column (`source.column`), a service or an entity. Undefined when nothing
 * has that name.
 */
export function lineageOf(registry: RuntimeRegistry, name: string): Lineage | undefined {
  const graph = lineageGraph(registry);
  const node = findNode(graph, name);
  if (!node) return undefined;
  return {
    node,
    upstream: walk(graph, node.id, 'up'),
    downstream: walk(graph, node.id, 'down'),
  };
}

/** Feature services that read `id` (a node id), directly or through anything downstream. */
export function servicesDownstream(graph: LineageGraph, id: string): string[] {
  return [
    ...new Set(
      walk(graph, id, 'down')
        .filter((edge) => edge.to.startsWith('featureService:'))
        .map((edge) => edge.to.slice('featureService:'.length)),
    ),
  ].sort();
}

function findNode(graph: LineageGraph, name: string): LineageNode | undefined {
  const dotted = name.replace('__', '.').replace(':', '.');
  const preference: LineageKind[] = [
    'featureService',
    'featureView',
    'source',
    'entity',
    'feature',
    'column',
  ];
  const matches = graph.nodes.filter((n) => n.name === name || n.name === dotted);
  return preference.map((kind) => matches.find((n) => n.kind === kind)).find(Boolean);
}

/**
 * Breadth-first over the edges in one direction. A view stands for its features, so the walk
 * does not pass through a view it did not start at: upward it only adds the view's entities,
 * and downward it only goes on to the services a view feeds when it came from an entity (so
 * a column reaches exactly the services that select features computed from it).
 */
function walk(
  graph: LineageGraph,
  start: string,
  direction: 'up' | 'down',
): (LineageEdge & { depth: number })[] {
  const result: (LineageEdge & { depth: number })[] = [];
  const seen = new Set([start]);
  let frontier: { id: string; via?: string }[] = [{ id: start }];
  for (let depth = 1; frontier.length > 0; depth++) {
    const next: { id: string; via?: string }[] = [];
    for (const { id, via } of frontier)
      for (const edge of graph.edges) {
        const [near, far] = direction === 'down' ? [edge.from, edge.to] : [edge.to, edge.from];
        if (near !== id || !passes(id, start, via, edge, direction)) continue;
        result.push({ ...edge, depth });
        if (!seen.has(far)) {
          seen.add(far);
          next.push({ id: far, via: edge.relation });
        }
      }
    frontier = next;
  }
  return result;
}

function passes(
  id: string,
  start: string,
  via: string | undefined,
  edge: LineageEdge,
  direction: 'up' | 'down',
): boolean {
  if (id === start || !id.startsWith('featureView:')) return true;
  return direction === 'up' ? edge.relation === 'keys' : via === 'keys';
}
