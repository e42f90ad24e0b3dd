import { DeadlineExceededError } from '../online/dynamodb-batch-get/deadline.ts';

/** The lookup's deadline passed between on-demand transforms, after the online store answered. */
export class TransformDeadlineExceededError extends DeadlineExceededError {}
