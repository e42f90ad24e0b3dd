import { Deadline } from '../../lib/online/dynamodb-batch-get/deadline.ts';
import type { LookupConfig } from './config.ts';

/** Of the invocation's remaining time, what a lookup keeps when DEADLINE_MARGIN_MS is not set. */
export const defaultDeadlineMarginMs = 500;

/** The parts of a Lambda context a lookup reads. */
interface InvocationContext {
  readonly awsRequestId?: string;
  readonly getRemainingTimeInMillis?: () => number;
}

/**
 * What one invocation gives its request: the request id (the 5xx answers name it, the logs
 * carry it) and the lookup's deadline, the time Lambda leaves the invocation less the margin
 * kept for answering and logging. A context without a clock (a hand-built one) sets none.
 */
export function invocationOf(
  context: InvocationContext,
  config: Pick<LookupConfig, 'deadlineMarginMs'>,
): { requestId?: string; deadline?: Deadline } {
  const margin = config.deadlineMarginMs ?? defaultDeadlineMarginMs;
  return {
    ...(context.awsRequestId === undefined ? {} : { requestId: context.awsRequestId }),
    ...(typeof context.getRemainingTimeInMillis === 'function'
      ? { deadline: Deadline.after(context.getRemainingTimeInMillis() - margin) }
      : {}),
  };
}
