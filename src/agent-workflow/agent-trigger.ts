import * as s3 from 'aws-cdk-lib/aws-s3';

/** Options of the S3 trigger. */
export interface S3TriggerOptions {
  /**
   * Only keys starting with this prefix start an execution (and a manual start naming another
   * prefix is rejected as invalid input).
   * @default - every key
   */
  readonly prefix?: string;
  /**
   * Only keys ending with this suffix start an execution.
   * @default - every key
   */
  readonly suffix?: string;
}

/** What starts an execution. */
export class AgentTrigger {
  /**
   * S3 "Object Created" events through EventBridge, buffered in an SQS queue (with a DLQ) and
   * started by a small function that names each execution after the object key and version, so a
   * duplicate event never starts a duplicate execution. EventBridge notifications are enabled on
   * the bucket when it is defined in this app (an imported bucket must have them enabled already).
   */
  public static s3ObjectCreated(bucket: s3.IBucket, options: S3TriggerOptions = {}): AgentTrigger {
    return new AgentTrigger(bucket, options.prefix ?? '', options.suffix ?? '');
  }

  /**
   * Started by `StartExecution` only (API, SDK, another workflow): the input is
   * `{ "bucket": "...", "key": "...", "versionId": null, "actorId": null, "sessionId": null }`.
   * @param bucket the bucket inputs are read from (the workflow may read nothing else)
   * @param prefix the key prefix inputs must have (@default - any key)
   */
  public static manual(bucket: s3.IBucket, prefix?: string): AgentTrigger {
    return new AgentTrigger(bucket, prefix ?? '', '', true);
  }

  private constructor(
    /** The bucket the inputs live in. */
    public readonly bucket: s3.IBucket,
    /** Key prefix ('' = any). */
    public readonly prefix: string,
    /** Key suffix ('' = any). */
    public readonly suffix: string,
    /** @internal */ public readonly _manualOnly = false,
  ) {}
}
