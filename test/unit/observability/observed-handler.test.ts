import { describe, expect, it } from 'vitest';
import { EmfMetrics, MetricUnit } from '../../../lib/observability/emf-metrics.ts';
import { observedHandler } from '../../../lib/observability/observed-handler.ts';
import { StructuredLogger } from '../../../lib/observability/structured-logger.ts';

const context = (awsRequestId: string) => ({
  functionName: 'fstore-dev-lookup',
  awsRequestId,
  getRemainingTimeInMillis: () => 10_000,
});

function observed(handler: (event: string) => Promise<string>) {
  const metricLines: string[] = [];
  const logLines: string[] = [];
  const logger = new StructuredLogger({
    serviceName: 's',
    env: {},
    write: (_l, line) => logLines.push(line),
  });
  const metrics = new EmfMetrics({
    namespace: 'n',
    serviceName: 's',
    env: {},
    write: (line) => metricLines.push(line),
  });
  const wrapped = observedHandler({ logger, metrics }, async (event: string) => {
    metrics.addMetric('Calls', MetricUnit.Count, 1);
    logger.info(`handling ${event}`);
    return handler(event);
  });
  return { wrapped, metricLines, logLines };
}

describe('observedHandler', () => {
  it('logs with each invocation’s request id and publishes its metrics once it returns', async () => {
    const { wrapped, metricLines, logLines } = observed(async (event) => `done ${event}`);
    expect(await wrapped('a', context('r1'))).toBe('done a');
    expect(await wrapped('b', context('r2'))).toBe('done b');
    expect(logLines.map((l) => JSON.parse(l).function_request_id)).toEqual(['r1', 'r2']);
    expect(metricLines.map((l) => JSON.parse(l).Calls)).toEqual([1, 1]);
  });

  it('publishes the metrics of an invocation that throws, and lets the error through', async () => {
    const { wrapped, metricLines } = observed(async () => {
      throw new Error('handler failed');
    });
    await expect(wrapped('a', context('r1'))).rejects.toThrow('handler failed');
    expect(metricLines).toHaveLength(1);
  });
});
