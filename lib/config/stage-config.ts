import { z } from 'zod';

/**
 * Everything that differs between environments, validated once in bin/app.ts and passed to
 * stacks as typed props.
 */
export const stageConfigSchema = z
  .strictObject({
    name: z
      .string()
      .regex(
        /^[a-z][a-z0-9-]{0,31}$/,
        'must be lower-case letters, digits and "-", starting with a letter',
      ),
    account: z
      .string()
      .regex(/^\d{12}$/, 'must be a 12-digit AWS account id')
      .optional(),
    region: z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d$/, 'must be an AWS region such as us-east-1'),
    /** Keep stateful resources (buckets, tables) when the stack is deleted. */
    retainData: z.boolean(),
    /** CloudFormation termination protection and DynamoDB deletion protection. */
    deletionProtection: z.boolean(),
    offline: z.strictObject({
      athenaBytesScannedCutoffPerQuery: z
        .number()
        .int()
        .min(10 * 1024 * 1024, 'must be at least 10 MiB (the Athena minimum)'),
      queryResultsExpirationDays: z.number().int().positive('must be a positive number of days'),
    }),
    api: z
      .strictObject({
        authorization: z.enum(['iam', 'jwt']),
        jwtIssuer: z.url('must be an https URL').optional(),
        jwtAudience: z.array(z.string().min(1)).optional(),
        throttleRateLimit: z.number().positive('must be a positive number'),
        throttleBurstLimit: z.number().int().positive('must be a positive integer'),
        maxEntitiesPerRequest: z.number().int().positive().max(10_000),
      })
      .superRefine((api, ctx) => {
        if (api.authorization === 'jwt' && (!api.jwtIssuer || !api.jwtAudience?.length)) {
          ctx.addIssue({
            code: 'custom',
            path: ['jwtIssuer'],
            message: 'a JWT authorizer needs jwtIssuer and jwtAudience',
          });
        }
      }),
    alarmEmail: z.email('must be an email address').optional(),
    logRetentionDays: z.number().int().positive(),
    tags: z.record(z.string().min(1), z.string()),
  })
  .readonly();

export type StageConfig = z.infer<typeof stageConfigSchema>;
export type StageConfigInput = z.input<typeof stageConfigSchema>;
