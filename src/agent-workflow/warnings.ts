/**
 * The ids of the warnings StepFunctionsAgentWorkflow adds at synth time, for legal but risky choices.
 *
 * Every id of this library has the form `cdk-production-patterns:<camelCaseName>`. Acknowledge a
 * warning you have weighed with `Annotations.of(workflow).acknowledgeWarning(id, reason)`.
 */
import { IMPORTED_KEY_LOGS_WARNING } from '../core/functions';

export class AgentWorkflowWarnings {
  /** More than 5 tools: agent reliability drops beyond 4-5 tools (consider splitting the workflow). */
  public static readonly TOO_MANY_TOOLS = 'cdk-production-patterns:agentWorkflowTooManyTools';
  /** `validation.maxSize` is above the 3.75 MB Converse accepts for an image sent as bytes. */
  public static readonly IMAGE_LIMIT_ABOVE_CONVERSE = 'cdk-production-patterns:agentWorkflowImageLimitAboveConverse';
  /** The trigger bucket is imported, so its EventBridge notifications cannot be enabled by the workflow. */
  public static readonly TRIGGER_BUCKET_IMPORTED = 'cdk-production-patterns:agentWorkflowTriggerBucketImported';
  /**
   * `encryptionKey` is imported: its key policy must allow CloudWatch Logs to use it for the log
   * groups of the workflow (handlers, state machine, approval API access and execution logs); this
   * app cannot add the statement to an imported key's policy.
   */
  public static readonly IMPORTED_KEY_FOR_HANDLER_LOGS = IMPORTED_KEY_LOGS_WARNING;

  private constructor() {}
}
