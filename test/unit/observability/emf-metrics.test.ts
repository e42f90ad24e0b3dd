import { Metrics, MetricUnit as PowertoolsUnit } from '@aws-lambda-powertools/metrics';
import { describe, expect, it } from 'vitest';
import {
  EmfMetrics,
  MetricUnit,
  maxMetricsPerDocument,
} from '../../../lib/observability/emf-metrics.ts';
import { emfProblems } from './emf-spec.ts';

const collect = (env: Record<string, string> = {}) => {
  const lines: string[] = [];
  const metrics = new EmfMetrics({
    namespace: 'fstore',
    serviceName: 'online-lookup',
    write: (line) => lines.push(line),
    env,
    now: () => 1_700_000_000_000,
  });
  return { metrics, lines };
};

describe('EMF metrics of the lookup Lambda', () => {
  it('writes one document per publish that meets the EMF specification, a repeated metric as an array', () => {
    const { metrics, lines } = collect();
    metrics.addMetric('EntitiesPerRequest', MetricUnit.Count, 3);
    metrics.addMetric('LookupLatency', MetricUnit.Milliseconds, 1.25);
    metrics.addMetric('LookupLatency', MetricUnit.Milliseconds, 2);
    metrics.publishStoredMetrics();
    expect(lines).toHaveLength(1);
    expect(lines[0]?.endsWith('\n')).toBe(true);
    expect(emfProblems(lines[0] ?? '')).toEqual([]);
    expect(JSON.parse(lines[0] ?? '')).toEqual({
      _aws: {
        Timestamp: 1_700_000_000_000,
        CloudWatchMetrics: [
          {
            Namespace: 'fstore',
            Dimensions: [['service']],
            Metrics: [
              { Name: 'EntitiesPerRequest', Unit: 'Count' },
              { Name: 'LookupLatency', Unit: 'Milliseconds' },
            ],
          },
        ],
      },
      service: 'online-lookup',
      EntitiesPerRequest: 3,
      LookupLatency: [1.25, 2],
    });
  });

  it('writes the document Powertools Metrics writes for the same metrics (Timestamp aside)', () => {
    const { metrics, lines } = collect();
    const powertools = new Metrics({ namespace: 'fstore', serviceName: 'online-lookup' });
    for (const sink of [metrics, powertools]) {
      sink.addMetric('EntitiesPerRequest', PowertoolsUnit.Count, 10);
      sink.addMetric('NotFoundRate', PowertoolsUnit.Percent, 12.5);
      sink.addMetric('LookupLatency', PowertoolsUnit.Milliseconds, 4);
      sink.addMetric('LookupLatency', PowertoolsUnit.Milliseconds, 5);
    }
    metrics.publishStoredMetrics();
    // Powertools' own serialization: its publish writes nothing outside Lambda.
    const powertoolsLines = [JSON.stringify(powertools.serializeMetrics())];
    const withoutTimestamp = (line: string) => {
      const document = JSON.parse(line);
      delete document._aws.Timestamp;
      return document;
    };
    expect(powertoolsLines).toHaveLength(1);
    expect(withoutTimestamp(lines[0] ?? '')).toEqual(withoutTimestamp(powertoolsLines[0] ?? ''));
    expect(Object.keys(JSON.parse(lines[0] ?? ''))).toEqual(
      Object.keys(JSON.parse(powertoolsLines[0] ?? '')),
    );
  });

  it('clears what it published, and writes nothing when nothing is stored', () => {
    const { metrics, lines } = collect();
    metrics.addMetric('ServerErrors', MetricUnit.Count, 1);
    metrics.publishStoredMetrics();
    metrics.publishStoredMetrics();
    expect(lines).toHaveLength(1);
  });

  it('writes nothing when POWERTOOLS_METRICS_DISABLED is true, as the local server and tests set it', () => {
    const { metrics, lines } = collect({ POWERTOOLS_METRICS_DISABLED: 'true' });
    metrics.addMetric('ServerErrors', MetricUnit.Count, 1);
    metrics.publishStoredMetrics();
    expect(lines).toEqual([]);
  });

  it('publishes the first 100 metrics before a 101st, so no document passes the EMF limit', () => {
    const { metrics, lines } = collect();
    for (let i = 0; i <= maxMetricsPerDocument; i++)
      metrics.addMetric(`m${i}`, MetricUnit.Count, i);
    metrics.publishStoredMetrics();
    expect(lines).toHaveLength(2);
    for (const line of lines) expect(emfProblems(line)).toEqual([]);
    expect(JSON.parse(lines[0] ?? '')._aws.CloudWatchMetrics[0].Metrics).toHaveLength(100);
    expect(JSON.parse(lines[1] ?? '')).toMatchObject({ m100: 100 });
  });

  it('publishes 100 values of one metric before a 101st', () => {
    const { metrics, lines } = collect();
    for (let i = 0; i <= 100; i++) metrics.addMetric('LookupLatency', MetricUnit.Milliseconds, i);
    metrics.publishStoredMetrics();
    expect(lines.map((l) => emfProblems(l))).toEqual([[], []]);
    expect(JSON.parse(lines[0] ?? '').LookupLatency).toHaveLength(100);
    expect(JSON.parse(lines[1] ?? '').LookupLatency).toBe(100);
  });

  it('refuses a value that is not a finite number, a metric added again with another unit, and reserved names, naming the metric', () => {
    const { metrics } = collect();
    expect(() => metrics.addMetric('NotFoundRate', MetricUnit.Percent, Number.NaN)).toThrow(
      'metric NotFoundRate value must be a finite number, got NaN',
    );
    metrics.addMetric('LookupLatency', MetricUnit.Milliseconds, 1);
    expect(() => metrics.addMetric('LookupLatency', MetricUnit.Count, 1)).toThrow(
      'metric LookupLatency was added with unit Milliseconds, cannot add it as Count',
    );
    expect(() => metrics.addMetric('service', MetricUnit.Count, 1)).toThrow('reserved');
    expect(() => metrics.addMetric('', MetricUnit.Count, 1)).toThrow('reserved');
  });

  it('the spec check finds a metric without a number and a dimension without a string member', () => {
    const bad = JSON.stringify({
      _aws: {
        Timestamp: 1,
        CloudWatchMetrics: [
          { Namespace: 'n', Dimensions: [['service']], Metrics: [{ Name: 'A', Unit: 'Count' }] },
        ],
      },
      A: 'one',
    });
    expect(emfProblems(bad)).toEqual([
      'dimension service has no string member at the root',
      'metric A has no number (or array of at most 100 numbers) at the root',
    ]);
  });
});
