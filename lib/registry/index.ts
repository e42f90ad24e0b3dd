export {
  type AnyDefinition,
  compileRegistry,
  type LocatedDefinition,
  serializeRegistry,
  viewSchemaVersion,
} from './compile.ts';
export {
  type Lineage,
  type LineageEdge,
  type LineageGraph,
  type LineageNode,
  lineageGraph,
  lineageOf,
  nodeId,
  servicesDownstream,
} from './lineage.ts';
export { DefinitionsLoadError, listDefinitionFiles, loadDefinitions } from './load-definitions.ts';
export * from './registry-schema.ts';
export { contentHash, stableStringify } from './stable-json.ts';
