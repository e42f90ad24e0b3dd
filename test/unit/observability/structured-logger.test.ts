import { Logger } from '@aws-lambda-powertools/logger';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { StructuredLogger } from '../../../lib/observability/structured-logger.ts';

const context = {
  functionName: 'fstore-dev-lookup',
  invokedFunctionArn: 'arn:aws:lambda:eu-west-1:123456789012:function:fstore-dev-lookup',
  memoryLimitInMB: '512',
  awsRequestId: 'request-1',
};
const env = {
  _X_AMZN_TRACE_ID: 'Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1',
};

const collect = (environment: Record<string, string> = env) => {
  const lines: { level: string; line: string }[] = [];
  const logger = new StructuredLogger({
    serviceName: 'online-lookup',
    env: environment,
    write: (level, line) => lines.push({ level, line }),
  });
  return { logger, lines };
};

/** Powertools' lines for the same calls, caught on the standard streams its console writes to. */
function powertoolsLines(log: (logger: Logger) => void): string[] {
  const lines: string[] = [];
  for (const stream of [process.stdout, process.stderr])
    vi.spyOn(stream, 'write').mockImplementation((chunk: string | Uint8Array) => {
      lines.push(String(chunk));
      return true;
    });
  vi.stubEnv('_X_AMZN_TRACE_ID', env._X_AMZN_TRACE_ID);
  log(new Logger({ serviceName: 'online-lookup' }));
  vi.restoreAllMocks();
  return lines;
}

const comparable = (line: string) => {
  const { timestamp, cold_start, ...rest } = JSON.parse(line);
  expect(timestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  return rest;
};

describe('structured logs of the lookup Lambda', () => {
  afterEach(() => {
    vi.restoreAllMocks();
    vi.unstubAllEnvs();
  });

  it('writes an error line as Powertools Logger does: context keys, trace id, the error with its cause and own fields', () => {
    const error = Object.assign(new Error('boom', { cause: new TypeError('inner') }), {
      code: 'E1',
    });
    const { logger, lines } = collect();
    logger.addContext(context);
    logger.error('unexpected error', error);
    const expected = powertoolsLines((powertools) => {
      powertools.addContext(context as never);
      powertools.error('unexpected error', error);
    });
    expect(lines.map((l) => l.level)).toEqual(['ERROR']);
    expect(comparable(lines[0]?.line ?? '')).toEqual(comparable(expected[0] ?? ''));
    expect(Object.keys(JSON.parse(lines[0]?.line ?? ''))).toEqual(
      Object.keys(JSON.parse(expected[0] ?? '')),
    );
    expect(JSON.parse(lines[0]?.line ?? '')).toMatchObject({
      xray_trace_id: '1-5759e988-bd862e3fe1be46a994272793',
      function_request_id: 'request-1',
      error: { name: 'Error', message: 'boom', code: 'E1', cause: { name: 'TypeError' } },
    });
  });

  it('writes a warning with attribute fields at the top level, as Powertools Logger does', () => {
    const fields = { code: 'DEADLINE', attempts: 2, cause: new Error('timed out') };
    const { logger, lines } = collect();
    logger.addContext(context);
    logger.warn('store slow', fields);
    const expected = powertoolsLines((powertools) => {
      powertools.addContext(context as never);
      powertools.warn('store slow', fields);
    });
    expect(lines.map((l) => l.level)).toEqual(['WARN']);
    expect(comparable(lines[0]?.line ?? '')).toEqual(comparable(expected[0] ?? ''));
  });

  it('marks the first invocation of the process as the cold start, and only it', () => {
    const { logger, lines } = collect();
    logger.addContext(context);
    logger.info('first');
    logger.addContext({ ...context, awsRequestId: 'request-2' });
    logger.info('second');
    expect(lines.map((l) => JSON.parse(l.line).cold_start)).toEqual([true, false]);
    expect(JSON.parse(lines[1]?.line ?? '').function_request_id).toBe('request-2');
  });

  it('is not a cold start on provisioned concurrency, which initializes ahead of requests', () => {
    const { logger, lines } = collect({
      AWS_LAMBDA_INITIALIZATION_TYPE: 'provisioned-concurrency',
    });
    logger.addContext(context);
    logger.info('first');
    expect(JSON.parse(lines[0]?.line ?? '').cold_start).toBe(false);
  });

  it('leaves out lines below POWERTOOLS_LOG_LEVEL (SILENT writes none), and ignores a level it does not know with one warning instead of failing to start', () => {
    const warnOnly = collect({ POWERTOOLS_LOG_LEVEL: 'WARN' });
    warnOnly.logger.info('hidden');
    warnOnly.logger.warn('shown');
    expect(warnOnly.lines.map((l) => JSON.parse(l.line).message)).toEqual(['shown']);
    const silent = collect({ POWERTOOLS_LOG_LEVEL: 'SILENT' });
    silent.logger.error('hidden');
    expect(silent.lines).toEqual([]);
    const loud = collect({ AWS_LAMBDA_LOG_LEVEL: 'LOUD' });
    expect(loud.lines.map((l) => [l.level, JSON.parse(l.line).message])).toEqual([
      [
        'WARN',
        'AWS_LAMBDA_LOG_LEVEL "LOUD" is not a log level (one of DEBUG, TRACE, INFO, WARN, ERROR, CRITICAL, SILENT, FATAL); ignored',
      ],
    ]);
    const inherited = collect({ LOG_LEVEL: 'toString' });
    inherited.logger.info('written at INFO');
    expect(inherited.lines.map((l) => l.level)).toEqual(['WARN', 'INFO']);
    const verbose = collect({ LOG_LEVEL: 'verbose' });
    verbose.logger.info('still written');
    expect(verbose.lines.map((l) => JSON.parse(l.line).message)).toEqual([
      'LOG_LEVEL "verbose" is not a log level (one of DEBUG, TRACE, INFO, WARN, ERROR, CRITICAL, SILENT); ignored',
      'still written',
    ]);
  });

  /** The levels a logger configured by `environment` writes of info, warn and error. */
  const levelsWritten = (environment: Record<string, string>) => {
    const ours = collect(environment);
    for (const level of ['info', 'warn', 'error'] as const) ours.logger[level](level);
    for (const name of ['AWS_LAMBDA_LOG_LEVEL', 'POWERTOOLS_LOG_LEVEL', 'LOG_LEVEL'])
      vi.stubEnv(name, environment[name]);
    const theirs = powertoolsLines((powertools) => {
      for (const level of ['info', 'warn', 'error'] as const) powertools[level](level);
    });
    return {
      ours: ours.lines
        .map((l) => JSON.parse(l.line))
        .filter((line) => !line.message.includes('is not a log level'))
        .map((line) => line.level),
      theirs: theirs.map((line) => JSON.parse(line).level),
    };
  };

  it.each([
    [{ AWS_LAMBDA_LOG_LEVEL: 'ERROR', POWERTOOLS_LOG_LEVEL: 'INFO' }, ['ERROR']],
    [{ AWS_LAMBDA_LOG_LEVEL: 'INFO', POWERTOOLS_LOG_LEVEL: 'ERROR' }, ['INFO', 'WARN', 'ERROR']],
    [{ AWS_LAMBDA_LOG_LEVEL: 'WARN', LOG_LEVEL: 'ERROR' }, ['WARN', 'ERROR']],
    [{ POWERTOOLS_LOG_LEVEL: 'WARN', LOG_LEVEL: 'ERROR' }, ['WARN', 'ERROR']],
    [{ POWERTOOLS_LOG_LEVEL: '', LOG_LEVEL: 'ERROR' }, ['ERROR']],
    [{ LOG_LEVEL: 'WARN' }, ['WARN', 'ERROR']],
    [{}, ['INFO', 'WARN', 'ERROR']],
    [{ AWS_LAMBDA_LOG_LEVEL: 'LOUD', POWERTOOLS_LOG_LEVEL: 'ERROR' }, ['ERROR']],
    [{ POWERTOOLS_LOG_LEVEL: 'WARNING', LOG_LEVEL: 'ERROR' }, ['INFO', 'WARN', 'ERROR']],
    [{ LOG_LEVEL: 'NOTICE' }, ['INFO', 'WARN', 'ERROR']],
    [{ POWERTOOLS_LOG_LEVEL: 'error' }, ['INFO', 'WARN', 'ERROR']],
  ])(
    'takes its level in Powertools Logger’s order, Lambda’s AWS_LAMBDA_LOG_LEVEL first: %j writes %j',
    (environment, levels) => {
      const { ours, theirs } = levelsWritten(environment);
      expect(ours).toEqual(levels);
      expect(theirs).toEqual(levels);
    },
  );

  it("accepts Lambda's FATAL log level as Powertools does, as CRITICAL: errors below it are left out", () => {
    const fatal = collect({ AWS_LAMBDA_LOG_LEVEL: 'FATAL' });
    fatal.logger.error('below critical');
    expect(fatal.lines).toEqual([]);
  });

  it('writes a line whose fields hold a cycle or a bigint instead of throwing', () => {
    const cyclic: Record<string, unknown> = { name: 'a' };
    cyclic.self = cyclic;
    const { logger, lines } = collect();
    logger.error('odd fields', { cyclic, big: 2n ** 64n });
    expect(JSON.parse(lines[0]?.line ?? '')).toMatchObject({
      cyclic: { name: 'a' },
      big: '18446744073709551616',
    });
  });
});
