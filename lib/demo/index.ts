export {
  type DemoFormat,
  type DemoOptions,
  demoFormats,
  parseDemoOptions,
  startOfUtcDay,
} from './demo-options.ts';
export {
  type CustomerRows,
  customerId,
  type DemoRow,
  type DemoSource,
  demoSources,
  generateDemoRows,
} from './demo-rows.ts';
export {
  type DemoDataSummary,
  type WriteDemoDataOptions,
  writeDemoData,
} from './write-demo-data.ts';
