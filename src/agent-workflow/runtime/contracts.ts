/**
 * The contracts between the state machine built by StepFunctionsAgentWorkflow and its handlers:
 * task inputs, task results, error names and environment variables. Type-only plus constants;
 * imported by handlers and by the construct (no AWS client, no aws-cdk-lib here).
 *
 * Conventions
 * - Per-step configuration (prompts, schema, validation rules) travels in the task parameters, so it
 *   is visible in the state-machine definition; resource names (tables, buckets, topics) come from
 *   environment variables set by the construct.
 * - Every result has every field present (null / '' / 0 when not applicable): JSONPath in the
 *   definition never meets a missing field.
 * - Results are small (a few KB at most): large things go to S3 and only keys come back.
 */

/** A scalar value the state may carry and a Choice may compare. */
export type Scalar = string | number | boolean | null;

/** Execution input: what the starter sends, and what a manual StartExecution must send. */
export interface WorkflowRequest {
  readonly bucket: string;
  readonly key: string;
  /** S3 version id when the bucket is versioned. */
  readonly versionId?: string | null;
  /** Memory scope: actor (e.g. customer id). Falls back to object metadata `actor_id`; ignored when the workflow takes the actor from a key segment. */
  readonly actorId?: string | null;
  /** Memory scope: session. Falls back to object metadata `session_id`. */
  readonly sessionId?: string | null;
}

// ---------------------------------------------------------------------------------------------
// Starter (SQS batch of EventBridge "Object Created" events → StartExecution)
// env: STATE_MACHINE_ARN
// Execution name = executionNameFor(bucket, key, versionId ?? sequencer): a duplicate event maps to
// the same name; ExecutionAlreadyExists counts as a handled duplicate. Malformed messages are
// reported as batch item failures (they reach the DLQ; nothing is lost).

// ---------------------------------------------------------------------------------------------
// Validator (Lambda task "Validate Input")
export interface ValidationRules {
  /** Maximum object size in bytes. */
  readonly maxSizeBytes: number;
  /** Allowed Content-Type values (exact, lower case). Empty = any. */
  readonly contentTypes: string[];
  /** Compare the first bytes with the declared content type (jpeg, png, gif, webp, pdf). */
  readonly checkMagicBytes: boolean;
  /** The only bucket accepted (a manual start naming another bucket is invalid). '' = any. */
  readonly bucket: string;
  /** Required key prefix. '' = any. */
  readonly prefix: string;
  /** Normalized metadata names the object must carry (non-empty): the prompt and the decision read them. */
  readonly requiredMetadata?: string[];
  /**
   * Where to copy the validated version for a model that reads it from S3 ('' = no copy): an S3
   * location names no version, so the model must read a copy nobody else can overwrite.
   */
  readonly snapshotBucket?: string;
  /** Key prefix of the copies (e.g. `inputs/`). */
  readonly snapshotPrefix?: string;
  /** Accept keys with control characters (U+0000-U+001F, U+007F-U+009F); absent/false = such a key is invalid input. */
  readonly allowControlCharactersInKey?: boolean;
  /**
   * Key segments (split on '/', counted from 0) the definition reads: each must be a non-empty folder of
   * the key (not its last segment, the object's name), else the input is invalid.
   */
  readonly requiredKeySegments?: number[];
  /** The memory actor id is this key segment (the request's actorId and the `actor_id` metadata are ignored). Absent = not from the key. */
  readonly actorIdKeySegment?: number;
}

export interface ValidateInputEvent {
  readonly request: unknown;
  readonly rules: ValidationRules;
}

export interface ValidationResult {
  readonly valid: boolean;
  /** Why the input is invalid ('' when valid); shown in the audit trail. */
  readonly reason: string;
  readonly bucket: string;
  readonly key: string;
  readonly versionId: string | null;
  readonly size: number;
  readonly contentType: string;
  readonly etag: string;
  readonly actorId: string;
  readonly sessionId: string;
  /** `actor#<actorId>#session#<sessionId>`, `actor#<actorId>`, or '' when no actor is known. */
  readonly memoryScope: string;
  /** The object the model reads: the snapshot of the validated version, or bucket/key ('' when invalid). */
  readonly analysisBucket: string;
  readonly analysisKey: string;
  /** S3 user metadata, keys lower-cased with every char outside [a-z0-9_] replaced by `_`; at most 20 keys, values at most 256 chars. */
  readonly metadata: Record<string, string>;
  /**
   * The key split on '/' (its first 20 segments; `AgentField.keySegment(n)` reads `$.validation.keySegments[n]`).
   * Always present in the built-in validator's results ([] when invalid); a custom validator may omit it.
   */
  readonly keySegments?: string[];
}

// ---------------------------------------------------------------------------------------------
// Reasoner (Lambda task "Reason" in LAMBDA mode; Lambda task "Checkpoint" after the Step Functions
// SDK integration in SDK mode).
// env: ARTIFACT_BUCKET, ARTIFACT_PREFIX, CONTEXT_TABLE, CONTEXT_TTL_SECONDS, METRICS_NAMESPACE, WORKFLOW_NAME

export type StructuredOutputMode = 'json_schema' | 'tool_use';
/** How the trigger object reaches the model: not at all, as an S3 location (Nova), or as bytes read by the Lambda. */
export type AttachmentMode = 'none' | 's3_location' | 'bytes';

export interface ReasoningConfig {
  /** Model id or inference profile id/ARN passed to Converse. */
  readonly modelId: string;
  readonly systemPrompt: string;
  /** Prompt template: `{{key}}`, `{{bucket}}`, `{{contentType}}`, `{{metadata.<name>}}` are replaced from the validation result. */
  readonly prompt: string;
  /** JSON Schema of the answer (top-level type object). */
  readonly outputSchema: Record<string, unknown>;
  readonly structuredOutput: StructuredOutputMode;
  readonly attachment: AttachmentMode;
  readonly maxTokens: number;
  /** -1 = not set. */
  readonly temperature: number;
  /** Summarizer model for the checkpoint summary; '' = a deterministic summary of the scalar fields. */
  readonly summarizerModelId: string;
  /** Prior summaries of the same memory scope added to the prompt (0 = none). */
  readonly memoryItems: number;
  /** Tool name used in tool_use mode. */
  readonly toolName: string;
  /** tool_use mode: ask the model to enforce the schema strictly (`toolSpec.strict`), where it supports it. */
  readonly strictToolUse?: boolean;
}

/** What the Step Functions Converse integration hands to the Checkpoint task (selected by ResultSelector). */
export interface RawConverseAnswer {
  readonly stopReason: string;
  /** Output.Message.Content (PascalCased by Step Functions: Text / ToolUse{Name,Input,ToolUseId}). */
  readonly content: unknown[];
  readonly usage: { readonly InputTokens: number; readonly OutputTokens: number };
}

export interface ReasonEvent {
  readonly mode: 'invoke' | 'checkpoint';
  readonly executionId: string;
  /** Reasoning step name (checkpoint sort key part). */
  readonly step: string;
  readonly validation: ValidationResult;
  readonly config: ReasoningConfig;
  /** Only in checkpoint mode. */
  readonly raw?: RawConverseAnswer;
}

export interface ReasonResult {
  /** Always true in a returned result: an invalid answer throws AgentSchemaViolation instead. */
  readonly valid: boolean;
  /**
   * Top-level scalar properties of the validated answer (strings cut to 256 chars); nested values
   * stay in the S3 artifact. This is what Choice conditions read.
   */
  readonly fields: Record<string, Scalar>;
  /** S3 key of the full answer artifact (answer JSON + usage + stop reason). */
  readonly artifactKey: string;
  /** Checkpoint summary (at most 500 chars). */
  readonly summary: string;
  /** Sort key of the checkpoint item in the context table. */
  readonly checkpointId: string;
  readonly modelId: string;
  /** `sha256:<hex>` of system prompt + rendered prompt + schema. */
  readonly promptHash: string;
  /** `sha256:<hex>` of the canonical answer JSON. */
  readonly outputDigest: string;
  readonly usage: { readonly inputTokens: number; readonly outputTokens: number };
}

// ---------------------------------------------------------------------------------------------
// Approval request (Lambda task with .waitForTaskToken)
// env: APPROVALS_TABLE, SIGNING_SECRET_ARN, ENDPOINT_URL (ends with '/'), PRIMARY_TOPIC_ARN,
//      ESCALATION_TOPIC_ARN ('' = none), EVENT_BUS_NAME, EVENT_SOURCE, WORKFLOW_NAME
export type ApprovalStage = 'primary' | 'escalation';

export interface ApprovalRequestEvent {
  readonly taskToken: string;
  readonly executionId: string;
  readonly stage: ApprovalStage;
  /** Link / approval lifetime (= the task timeout). */
  readonly timeoutSeconds: number;
  /** Why approval is needed (the matched condition). */
  readonly reason: string;
  readonly subject: { readonly bucket: string; readonly key: string; readonly versionId: string | null };
  readonly fields: Record<string, Scalar>;
  readonly summary: string;
  /** Tool results (small projections) shown to the approver. */
  readonly tools: Record<string, unknown>;
  /** The task's heartbeat interval (0 = none): the message then carries an "I'm reviewing" link that resets it. */
  readonly heartbeatSeconds?: number;
}

/** Approvals table item (partition key `approvalId`; GSI `byStatus`: `status` + `createdAt`). */
export interface ApprovalItem {
  /** Opaque, unguessable: base64url(HMAC-SHA256(key, 'approval-id|' + taskToken)), 43 chars. */
  readonly approvalId: string;
  readonly taskToken: string;
  readonly executionId: string;
  readonly stage: ApprovalStage;
  readonly status: 'PENDING' | 'DECIDING' | 'DECIDED' | 'CLOSED';
  /** Epoch seconds. */
  readonly createdAt: number;
  /** Epoch seconds; links expire then. */
  readonly expiresAt: number;
  /** DynamoDB TTL attribute (= expiresAt). */
  readonly ttl: number;
  readonly reason: string;
  readonly subjectKey: string;
}

/** SendTaskSuccess output (outcome APPROVED) or, JSON in the SendTaskFailure cause, outcome REJECTED. */
export interface ApprovalDecision {
  readonly outcome: 'APPROVED' | 'REJECTED';
  readonly approvalId: string;
  /** The authenticated approver: `iam:<arn>`, `cognito:<email or sub>` or `link:<stage>`. */
  readonly approver: string;
  /** The name typed into the confirm form ('' when none): self-declared, kept apart from the identity. */
  readonly approverName: string;
  readonly comment: string;
  /** ISO-8601. */
  readonly decidedAt: string;
}

/** SendTaskFailure error name for a human rejection. */
export const APPROVAL_REJECTED_ERROR = 'ApprovalRejected';
/** Error name thrown by the reasoner when the answer does not match the schema (after storing it). */
export const SCHEMA_VIOLATION_ERROR = 'AgentSchemaViolation';
/** Bedrock errors the reasoner rethrows with their name, so the state machine retries them. */
export const RETRYABLE_MODEL_ERRORS = [
  'ThrottlingException',
  'ModelNotReadyException',
  'ServiceUnavailableException',
  'ModelTimeoutException',
  'InternalServerException',
];

// Approval endpoint (API Gateway REST proxy → Lambda)
// env: APPROVALS_TABLE, AUDIT_TABLE, SIGNING_SECRET_ARN, WORKFLOW_NAME, EVENT_BUS_NAME, EVENT_SOURCE
//   GET  /approvals/{id}?action=approve|reject|heartbeat&exp=<epoch s>&sig=<b64url>  → confirm page, changes nothing
//   POST /approvals/{id}  (form-urlencoded or JSON: action, exp, sig, comment?, name?) → decides once
// Audit item written on a decision: { executionId, recordId: 'APPROVAL#<approvalId>', ... }.

// Approval monitor (scheduled): env APPROVALS_TABLE, METRICS_NAMESPACE, WORKFLOW_NAME.
// Publishes PendingApprovals and OldestPendingApprovalAgeSeconds (dimension Workflow).

/**
 * The CloudWatch namespace of the workflow's handler metrics: the construct passes it to the
 * handlers (env METRICS_NAMESPACE) and reads it in its metric methods.
 */
export const METRICS_NAMESPACE = 'CdkProductionPatterns/AgentWorkflow';

/** Metric names the handlers publish (namespace METRICS_NAMESPACE, dimension Workflow). */
export const METRIC = {
  inputTokens: 'InputTokens',
  outputTokens: 'OutputTokens',
  schemaViolations: 'SchemaViolations',
  modelThrottles: 'ModelThrottles',
  pendingApprovals: 'PendingApprovals',
  oldestPendingApprovalAgeSeconds: 'OldestPendingApprovalAgeSeconds',
  approvalsDecided: 'ApprovalsDecided',
  rejectedLinks: 'RejectedApprovalLinks',
} as const;

/**
 * Audit table: partition key `executionId`, sort key `recordId` (`OUTCOME`, `APPROVAL#<id>`,
 * `ATTEMPT#<ISO time>#<nonce>`); attempts no approval vouches for use the partition
 * `unattributed#<yyyy-mm-dd>` (see approval-audit.ts).
 */
export const AUDIT_KEYS = { partitionKey: 'executionId', sortKey: 'recordId' } as const;
/** Context table: partition key `scope` (memory scope or `execution#<id>`), sort key `checkpointId`. */
export const CONTEXT_KEYS = { partitionKey: 'scope', sortKey: 'checkpointId' } as const;
