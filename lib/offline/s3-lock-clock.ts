import {
  GetObjectCommand,
  type GetObjectCommandInput,
  type GetObjectCommandOutput,
  type S3Client,
} from '@aws-sdk/client-s3';

/**
 * GetObject, with S3's clock at the answer: its `Date` header (whole seconds). Absent when the
 * endpoint sends none (or a test double answers without HTTP).
 */
export async function getObjectWithS3Time(
  s3: S3Client,
  input: GetObjectCommandInput,
): Promise<{ readonly output: GetObjectCommandOutput; readonly s3Time?: Date }> {
  const command = new GetObjectCommand(input);
  let date: string | undefined;
  command.middlewareStack.add(
    (next) => async (args) => {
      const result = await next(args);
      const headers = (result.response as { headers?: Record<string, string | undefined> }).headers;
      date = headers?.date ?? headers?.Date;
      return result;
    },
    { step: 'deserialize', name: 'fstoreS3LockClock' },
  );
  const output = await s3.send(command);
  const at = date === undefined ? Number.NaN : Date.parse(date);
  return Number.isNaN(at) ? { output } : { output, s3Time: new Date(at) };
}

/**
 * When a lease runs out, on S3's clock: `leaseMs` after S3 last wrote the lock object (each
 * renewal is a write), plus one second since `Last-Modified` and `Date` drop the milliseconds.
 * Two hosts' clocks are never compared, only S3's with itself.
 */
export function leaseEndOnS3Clock(lastModified: Date, leaseMs: number): number {
  return lastModified.getTime() + leaseMs + 1000;
}
