import { IMPORTED_KEY_LOGS_WARNING } from '../core/functions';

/**
 * The ids of the warnings PipesFanOut adds at synth time, for legal but risky choices.
 *
 * Acknowledge a warning you have weighed with `Annotations.of(fanOut).acknowledgeWarning(id, reason)`.
 */
export class PipesFanOutWarnings {
  /** `logIncludeExecutionData` is on: the pipe's log records hold event payloads (possibly personal data), unredacted. */
  public static readonly EXECUTION_DATA_LOGGED = 'cdk-production-patterns:pipesFanOutExecutionDataLogged';
  /**
   * A consumer brings its own queue: its redrive policy (dead-letter queue) and, when it is encrypted
   * with a customer key, the key policy that lets the channel's service deliver to it are its owner's.
   */
  public static readonly CONSUMER_QUEUE_IMPORTED = 'cdk-production-patterns:pipesFanOutConsumerQueueImported';
  /**
   * `encryptionKey` is imported: its key policy must allow CloudWatch Logs (the pipe's log group) and
   * the channel's service (SNS or EventBridge, delivering to the consumer queues) to use it.
   */
  public static readonly IMPORTED_KEY = IMPORTED_KEY_LOGS_WARNING;

  private constructor() {}
}
