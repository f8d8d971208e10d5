import { Duration } from 'aws-cdk-lib';

/**
 * Options of context checkpointing (the workflow's `checkpoint` prop).
 *
 * Checkpointing is always on (it keeps state payloads small): after reasoning, the full answer goes to
 * S3 and a summary plus references to DynamoDB (with TTL), scoped by actor and session when known, and
 * the state carries keys only.
 */
export interface ContextCheckpointOptions {
  /**
   * A smaller model that writes the checkpoint summary.
   * @default - a deterministic summary of the answer's scalar fields (no model call)
   */
  readonly summarizerModelId?: string;
  /**
   * How long summaries stay in the context table (DynamoDB TTL).
   * @default Duration.days(30)
   */
  readonly ttl?: Duration;
  /**
   * Prior summaries of the same actor/session given to the model as context.
   * @default 3
   */
  readonly memoryItems?: number;
}
