import { App, Duration, Stack } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigatewayv2';
import { describe, expect, it } from 'vitest';
import { resolveStageConfig } from '../../lib/config/stages.ts';
import { OnlineStore } from '../../lib/constructs/online-store.ts';
import { PushRoute } from '../../lib/constructs/push-route.ts';
import { cdkJsonContext, loadExampleRegistry } from './synth-app.ts';

describe('PushRoute idempotencyExpiry', () => {
  it('refuses an expiry over one day at synth, naming the prop (ingested pushes are remembered a day)', async () => {
    const app = new App({ context: cdkJsonContext() });
    const stack = new Stack(app, 'push-expiry');
    const stage = resolveStageConfig('dev');
    const store = new OnlineStore(stack, 'OnlineStore', { stage });
    const registry = await loadExampleRegistry();
    expect(
      () =>
        new PushRoute(stack, 'Push', {
          stage,
          registry,
          api: new apigw.HttpApi(stack, 'Api'),
          table: store.table,
          idempotencyExpiry: Duration.days(7),
        }),
    ).toThrow(/PushRoute idempotencyExpiry must be at most one day \(86400 s\), got 604800 s/);
  });
});
