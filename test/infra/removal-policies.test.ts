import { describe, expect, it } from 'vitest';
import { synthStage } from './synth-app.ts';

type Resources = Record<
  string,
  {
    Type: string;
    DeletionPolicy?: string;
    UpdateReplacePolicy?: string;
    Properties?: Record<string, unknown>;
  }
>;

async function resourcesOf(env: string): Promise<Resources> {
  const { template } = await synthStage(env);
  return template.toJSON().Resources as Resources;
}

const ofType = (resources: Resources, type: string) =>
  Object.entries(resources).filter(([, r]) => r.Type === type);

describe('what deleting the stack keeps', () => {
  it('keeps the API access logs, the function log groups and the dead-letter queues (materialization, push compaction) in prod', async () => {
    const resources = await resourcesOf('prod');
    const logGroups = ofType(resources, 'AWS::Logs::LogGroup').filter(([id]) =>
      /^(MaterializationFunctionLogs|PushCompactionFunctionLogs|ServingApiAccessLogs|ServingApiFunctionLogs)[0-9A-F]{8}$/.test(
        id,
      ),
    );
    expect(logGroups).toHaveLength(4);
    const queues = ofType(resources, 'AWS::SQS::Queue');
    expect(queues).toHaveLength(2);
    for (const [id, resource] of [...logGroups, ...queues])
      expect([resource.DeletionPolicy, resource.UpdateReplacePolicy], id).toEqual([
        'Retain',
        'Retain',
      ]);
    // Retained buckets keep their objects: no auto-delete custom resource at all.
    expect(ofType(resources, 'Custom::S3AutoDeleteObjects')).toEqual([]);
  }, 180_000);

  it('deletes dev’s log groups and queue, and empties every dev bucket before deleting it', async () => {
    const resources = await resourcesOf('dev');
    for (const [id, resource] of [
      ...ofType(resources, 'AWS::Logs::LogGroup'),
      ...ofType(resources, 'AWS::SQS::Queue'),
      ...ofType(resources, 'AWS::S3::Bucket'),
    ])
      expect(resource.DeletionPolicy, id).toBe('Delete');
    const buckets = ofType(resources, 'AWS::S3::Bucket').map(([id]) => id);
    expect(buckets).toHaveLength(3);
    const emptied = ofType(resources, 'Custom::S3AutoDeleteObjects').map(
      ([, r]) => (r.Properties?.BucketName as { Ref?: string } | undefined)?.Ref,
    );
    expect(emptied.sort()).toEqual(buckets.sort());
  }, 180_000);
});
