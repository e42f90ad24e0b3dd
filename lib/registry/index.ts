export {
  type AnyDefinition,
  compileRegistry,
  type LocatedDefinition,
  serializeRegistry,
  viewSchemaVersion,
} from './compile.ts';
export { DefinitionsLoadError, listDefinitionFiles, loadDefinitions } from './load-definitions.ts';
export * from './registry-schema.ts';
export { contentHash, stableStringify } from './stable-json.ts';
