import { Duration } from 'aws-cdk-lib';

/** Options of context checkpointing. */
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

/**
 * Context checkpointing: after reasoning, the full answer goes to S3 and a summary plus references
 * to DynamoDB (with TTL), scoped by actor and session when known; the state carries keys only.
 */
export class ContextCheckpoint {
  /** Checkpoint with these options. */
  public static enabled(options: ContextCheckpointOptions = {}): ContextCheckpoint {
    return new ContextCheckpoint(options);
  }

  private constructor(
    /** The options. */
    public readonly options: ContextCheckpointOptions,
  ) {}
}
