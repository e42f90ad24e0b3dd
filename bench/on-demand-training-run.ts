/**
 * One timed training set of bench:on-demand in its own process, so its CPU time and peak RSS
 * are its own: `tsx bench/on-demand-training-run.ts <service> <dataDir> <entities> <out.parquet>`.
 * Prints one JSON line: { seconds, cpuSeconds, peakRssMb, rows, phases } (phases: seconds from
 * the call to the first phase, `planning`, and in each phase after it).
 */
import { getTrainingSet } from '../lib/offline/training-set.ts';
import { onDemandBenchRegistry } from './on-demand-training-fixture.ts';

const [service, dataDir, entities, out] = process.argv.slice(2);
if (!service || !dataDir || !entities || !out)
  throw new Error('usage: on-demand-training-run.ts <service> <dataDir> <entities> <out.parquet>');
const started = performance.now();
const phases: Record<string, number> = {};
let phase = 'planning';
let phaseStarted = started;
const enter = (next: string) => {
  const now = performance.now();
  phases[phase] = Number(((now - phaseStarted) / 1000).toFixed(3));
  phase = next;
  phaseStarted = now;
};
const result = await getTrainingSet({
  registry: onDemandBenchRegistry,
  dataDir,
  env: 'local',
  request: { service },
  entities,
  out,
  onPhase: enter,
});
enter('done');
const cpu = process.cpuUsage();
console.log(
  JSON.stringify({
    seconds: (performance.now() - started) / 1000,
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
    peakRssMb: Math.round(process.resourceUsage().maxRSS / 1024),
    rows: result.rows,
    phases,
  }),
);
