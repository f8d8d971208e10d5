import { Annotations, Duration, Names, RemovalPolicy, Size, Stack, Validations } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cwActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as cognito from 'aws-cdk-lib/aws-cognito';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as lambdaEvents from 'aws-cdk-lib/aws-lambda-event-sources';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import { AgentReasoning, ReasoningInvocation, StructuredOutput } from './agent-reasoning';
import { AgentTool } from './agent-tool';
import { AgentTrigger } from './agent-trigger';
import { AgentField, ApprovalPolicy, DecisionCondition, fieldProblems, HumanApproval } from './approval';
import { ContextCheckpoint } from './context-checkpoint';
import { InputValidation } from './input-validation';
import { modelArns, readsS3Location } from './model-arns';
import { ApprovalEndpointFunction } from './runtime/approval-endpoint-function';
import { ApprovalMonitorFunction } from './runtime/approval-monitor-function';
import { ApprovalRequestFunction } from './runtime/approval-request-function';
import {
  APPROVAL_REJECTED_ERROR, METRIC, RETRYABLE_MODEL_ERRORS, ReasoningConfig, SCHEMA_VIOLATION_ERROR, ValidationRules,
} from './runtime/contracts';
import { checkSchema } from './runtime/json-schema';
import { ReasonerFunction } from './runtime/reasoner-function';
import { StarterFunction } from './runtime/starter-function';
import { ValidatorFunction } from './runtime/validator-function';
import { throwPropError, validateRange } from '../core/errors';
import { acknowledgeBasicExecutionRole, handlerDeadLetterQueue } from '../core/handlers';

/** The metrics namespace of the bundled handlers. */
export const AGENT_WORKFLOW_METRICS_NAMESPACE = 'CdkProductionPatterns/AgentWorkflow';
/** The EventBridge `source` of progress and approval events. */
export const AGENT_WORKFLOW_EVENT_SOURCE = 'cdk-production-patterns.agent-workflow';

/** How approvers authenticate to the approval endpoint. */
export class ApprovalEndpointAuth {
  /** The signed, expiring link is the credential (works from any mail client). The approver is recorded as `link:<stage>`. */
  public static signedLinks(): ApprovalEndpointAuth {
    return new ApprovalEndpointAuth(apigw.AuthorizationType.NONE);
  }
  /** IAM (SigV4) callers only, plus the signed link; the approver is the caller's ARN. For tools and consoles, not mail clients. */
  public static iam(): ApprovalEndpointAuth {
    return new ApprovalEndpointAuth(apigw.AuthorizationType.IAM);
  }
  /** Cognito user-pool tokens, plus the signed link; the approver is the user's email (or sub). */
  public static cognito(userPool: cognito.IUserPool): ApprovalEndpointAuth {
    return new ApprovalEndpointAuth(apigw.AuthorizationType.COGNITO, userPool);
  }
  private constructor(
    /** @internal */ public readonly _type: apigw.AuthorizationType,
    /** @internal */ public readonly _userPool?: cognito.IUserPool,
  ) {}
}

/** Props of StepFunctionsAgentWorkflow. */
export interface StepFunctionsAgentWorkflowProps {
  /** What starts an execution. */
  readonly trigger: AgentTrigger;
  /**
   * How the input is validated.
   * @default InputValidation.s3Object() - exists, at most 5 MiB, magic bytes match the content type
   */
  readonly validation?: InputValidation;
  /** The reasoning step (Amazon Bedrock Converse with structured output). */
  readonly reasoning: AgentReasoning;
  /**
   * Tool and enrichment steps (run in parallel after reasoning; results join `$.tools.<name>`).
   * More than 5 tools draws a synth-time warning.
   * @default - none
   */
  readonly tools?: AgentTool[];
  /**
   * When a person must approve.
   * @default ApprovalPolicy.never() - approve automatically
   */
  readonly approval?: ApprovalPolicy;
  /**
   * Context checkpointing (always on: it keeps state payloads small); these are its options.
   * @default ContextCheckpoint.enabled()
   */
  readonly checkpoint?: ContextCheckpoint;
  /**
   * A name for the workflow in metrics and events.
   * @default - a name derived from the construct path
   */
  readonly workflowName?: string;
  /**
   * Customer managed key for the tables, queues, artifacts bucket, secret and state machine.
   * @default - AWS owned / managed keys
   */
  readonly encryptionKey?: kms.IKey;
  /**
   * Bucket for answer artifacts (under `artifacts/`) and copies of validated inputs (under `inputs/`;
   * give your bucket a lifecycle rule for them).
   * @default - a new encrypted, versioned bucket: artifacts expire after `artifactRetention`, input copies with the checkpoint TTL
   */
  readonly artifactBucket?: s3.IBucket;
  /**
   * How long the created artifact bucket keeps answer artifacts (the audit trail points at them).
   * @default Duration.days(365)
   */
  readonly artifactRetention?: Duration;
  /**
   * Table for checkpoint summaries (partition key `scope`, sort key `checkpointId`, TTL `ttl`).
   * @default - a new table
   */
  readonly contextTable?: dynamodb.ITable;
  /**
   * Table for the audit trail (partition key `executionId`, sort key `recordId`).
   * @default - a new table with point-in-time recovery, retained on stack deletion
   */
  readonly auditTable?: dynamodb.ITable;
  /**
   * Event bus for progress and approval events.
   * @default - the account's default bus
   */
  readonly eventBus?: events.IEventBus;
  /**
   * How approvers authenticate to the approval endpoint.
   * @default ApprovalEndpointAuth.signedLinks()
   */
  readonly approvalEndpointAuth?: ApprovalEndpointAuth;
  /**
   * API Gateway access logs for the approval endpoint (needs the account's API Gateway CloudWatch role).
   * @default true
   */
  readonly approvalEndpointAccessLogs?: boolean;
  /**
   * Alarm when an approval has been pending longer than this.
   * @default Duration.hours(24)
   */
  readonly pendingApprovalAlarmAge?: Duration;
  /**
   * Log execution data (inputs/outputs, which may hold personal data) in the state machine logs.
   * @default false
   */
  readonly logExecutionData?: boolean;
  /**
   * State machine log level.
   * @default sfn.LogLevel.ERROR
   */
  readonly logLevel?: sfn.LogLevel;
  /**
   * Log retention of the state machine and handlers.
   * @default logs.RetentionDays.ONE_YEAR
   */
  readonly logRetention?: logs.RetentionDays;
  /**
   * Maximum duration of an execution.
   * @default - approval timeouts plus one hour, or one hour without approval
   */
  readonly executionTimeout?: Duration;
  /**
   * Topic every alarm notifies.
   * @default - alarms without actions
   */
  readonly alarmTopic?: sns.ITopic;
}

const DEFAULT_SCHEMA_TOOL = 'record_answer';
/** Key prefix of the validated-input copies in the artifact bucket. */
const SNAPSHOT_PREFIX = 'inputs/';
/** Throttling and server errors of DynamoDB tasks, in both spellings the integrations use (DynamoDB.* optimized, DynamoDb.* SDK). */
const DYNAMODB_RETRYABLE = ['ProvisionedThroughputExceededException', 'ThrottlingException', 'InternalServerErrorException', 'RequestLimitExceeded']
  .flatMap((e) => [`DynamoDB.${e}`, `DynamoDb.${e}`]);

/**
 * An AI agent run as explicit, auditable infrastructure: S3 trigger → input validation →
 * Bedrock Converse with JSON-schema structured output (checkpointed to S3 and DynamoDB) → tools →
 * declarative decision → human approval by `.waitForTaskToken` callback through signed links →
 * audit trail, with progress events, retries, alarms and tracing.
 */
export class StepFunctionsAgentWorkflow extends Construct {
  /** The state machine (Standard). */
  public readonly stateMachine: sfn.StateMachine;
  /** The state machine log group. */
  public readonly logGroup: logs.ILogGroup;
  /** The audit table (`executionId`, `recordId`). */
  public readonly auditTable: dynamodb.ITable;
  /** The checkpoint/memory table (`scope`, `checkpointId`, TTL). */
  public readonly contextTable: dynamodb.ITable;
  /** The bucket of answer artifacts. */
  public readonly artifactBucket: s3.IBucket;
  /** The pending approvals table (task tokens, keyed by opaque approval id), when approval is configured. */
  public readonly approvalsTable?: dynamodb.Table;
  /** The HMAC key that signs approval links, when approval is configured. */
  public readonly signingSecret?: secretsmanager.Secret;
  /** The approval endpoint, when approval is configured. */
  public readonly approvalApi?: apigw.RestApi;
  /** The approval endpoint base URL (links are `<url>approvals/<id>?...`), when approval is configured. */
  public readonly approvalUrl?: string;
  /** The queue between the S3 events and the starter, for an S3 trigger. */
  public readonly triggerQueue?: sqs.Queue;
  /** Dead letters of the trigger (events that could not be started after retries). */
  public readonly triggerDeadLetterQueue?: sqs.Queue;
  /** The bundled functions by role: validator, reasoner, starter, approvalRequest, approvalEndpoint, approvalMonitor. */
  public readonly functions: { [role: string]: lambda.IFunction };
  /** The alarms: failed/timed-out/throttled executions, old pending approvals, model throttles, schema violations, handler errors, dead letters. */
  public readonly alarms: cloudwatch.IAlarm[];
  /** The workflow name used in metrics and events. */
  public readonly workflowName: string;
  /** The event bus that receives progress and approval events. */
  public readonly eventBus: events.IEventBus;

  private readonly modelId: string;
  private readonly toolStatements: iam.PolicyStatement[] = [];

  constructor(scope: Construct, id: string, props: StepFunctionsAgentWorkflowProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const r = props.reasoning.options;
    const tools = props.tools ?? [];
    const policy = props.approval ?? ApprovalPolicy.never();
    const checkpoint = (props.checkpoint ?? ContextCheckpoint.enabled()).options;
    const validation = props.validation ?? InputValidation.s3Object();
    const key = props.encryptionKey;
    this.modelId = r.modelId;
    this.workflowName = props.workflowName ?? Names.uniqueResourceName(this, { maxLength: 64 });
    this.eventBus = props.eventBus ?? events.EventBus.fromEventBusName(this, 'DefaultBus', 'default');

    // ---- validate props
    const schemaProblems = checkSchema(r.outputSchema);
    if (schemaProblems.length > 0) throwPropError(this, 'reasoning.outputSchema', schemaProblems.join('; '));
    const maxTokens = r.maxTokens ?? 2000;
    validateRange(this, 'reasoning.maxTokens', maxTokens, 1, 100_000, { integer: true });
    if (r.temperature !== undefined) validateRange(this, 'reasoning.temperature', r.temperature, 0, 1);
    validateRange(this, 'reasoning.maxRetries', r.maxRetries, 0, 10, { integer: true });
    validateRange(this, 'reasoning.schemaRetries', r.schemaRetries, 0, 3, { integer: true });
    validateRange(this, 'checkpoint.memoryItems', checkpoint.memoryItems, 0, 10, { integer: true });
    if (!r.modelId) throwPropError(this, 'reasoning.modelId', 'is required');
    const maxSize = validation.options.maxSize ?? Size.mebibytes(5);
    const maxSizeBytes = maxSize.toBytes();
    validateRange(this, 'validation.maxSize', maxSizeBytes, 1, 5 * 1024 * 1024 * 1024);
    const names = new Set<string>();
    for (const t of tools) {
      if (names.has(t.name)) throwPropError(this, 'tools', `two tools are named '${t.name}'`);
      names.add(t.name);
    }
    if (tools.length > 5) {
      Annotations.of(this).addWarningV2('cdk-production-patterns:agent-tools',
        `${tools.length} tools: agent reliability drops beyond 4-5 tools; consider splitting the workflow.`);
    }
    const allConditions = [...policy.conditions, ...policy.rejectWhen];
    this.checkFields(allConditions, r.outputSchema, names);
    const approval = policy.approval;
    const timeout = approval?.options.timeout ?? Duration.days(2);
    if (approval) {
      validateRange(this, 'approval.timeout', timeout.toSeconds(), 60, 365 * 24 * 3600 - 3600);
      const hb = approval.options.heartbeat;
      if (hb && hb.toSeconds() >= timeout.toSeconds()) throwPropError(this, 'approval.heartbeat', `must be shorter than the timeout (${timeout.toHumanString()})`);
    }
    const escalation = approval?.options.onTimeout?.escalationTopic;
    const escalationTimeout = approval?.options.onTimeout?.escalationTimeout ?? timeout;
    if (approval && escalation) {
      if (escalationTimeout.toSeconds() < 60) {
        throwPropError(this, 'approval.onTimeout', `the escalation timeout must be at least 60 seconds, got ${escalationTimeout.toSeconds()}`);
      }
      const hb = approval.options.heartbeat;
      if (hb && hb.toSeconds() >= escalationTimeout.toSeconds()) {
        throwPropError(this, 'approval.heartbeat', `must be shorter than the escalation timeout (${escalationTimeout.toHumanString()})`);
      }
      if (timeout.toSeconds() + escalationTimeout.toSeconds() > 365 * 24 * 3600 - 3600) {
        throwPropError(this, 'approval.onTimeout', 'the approval and escalation timeouts together must stay under the one-year execution limit (minus an hour)');
      }
    }

    const structured = r.structuredOutput ?? StructuredOutput.TOOL_USE;
    const attach = r.attachTriggerObject ?? true;
    const s3Capable = readsS3Location(r.modelId);
    const contentTypes = (validation.options.contentTypes ?? []).map((c) => c.toLowerCase());
    let invocation = r.invocation ?? ReasoningInvocation.AUTO;
    if (invocation === ReasoningInvocation.AUTO) {
      const imagesOnly = contentTypes.length > 0 && contentTypes.every((c) => /^image\/(png|jpeg|gif|webp)$/.test(c));
      invocation = s3Capable && maxTokens <= 4000 && (!attach || imagesOnly) ? ReasoningInvocation.SDK_INTEGRATION : ReasoningInvocation.LAMBDA;
    }
    if (invocation === ReasoningInvocation.SDK_INTEGRATION) {
      if (attach && !s3Capable) {
        throwPropError(this, 'reasoning.invocation', `the SDK integration needs a model that reads S3 attachments (Amazon Nova Lite/Pro/Premier); '${r.modelId}' does not: use ReasoningInvocation.LAMBDA`);
      }
      if (maxTokens > 4000) {
        throwPropError(this, 'reasoning.maxTokens', `the SDK integration passes the raw answer through the state: at most 4000 tokens (~16 KB), got ${maxTokens}; use ReasoningInvocation.LAMBDA for longer answers`);
      }
      if (/\\/.test(r.prompt) && /\{\{/.test(r.prompt)) {
        throwPropError(this, 'reasoning.prompt', 'a prompt with placeholders may not contain a backslash on the SDK integration path (it becomes a States.Format literal)');
      }
      if (attach && (contentTypes.length === 0 || contentTypes.some((c) => !/^image\/(png|jpeg|gif|webp)$/.test(c)))) {
        throwPropError(this, 'validation.contentTypes', 'the SDK integration attaches images only: list image/png, image/jpeg, image/gif or image/webp (or use ReasoningInvocation.LAMBDA)');
      }
    }
    const attachment = !attach ? 'none' : s3Capable ? 's3_location' : 'bytes';
    const snapshot = attachment === 's3_location' && !validation.fn;
    if (attachment === 'bytes' && maxSizeBytes > 3.75 * 1024 * 1024) {
      Annotations.of(this).addWarningV2('cdk-production-patterns:agent-image-bytes',
        `validation.maxSize is ${maxSize.toMebibytes({ rounding: 0 as any })} MiB but Converse accepts images up to 3.75 MB as bytes; larger valid uploads will fail in the reasoner.`);
    }

    const retention = props.logRetention ?? logs.RetentionDays.ONE_YEAR;
    const ttl = checkpoint.ttl ?? Duration.days(30);

    // ---- storage
    const tableEncryption = key ? dynamodb.TableEncryption.CUSTOMER_MANAGED : dynamodb.TableEncryption.AWS_MANAGED;
    this.auditTable = props.auditTable ?? new dynamodb.Table(this, 'AuditTable', {
      partitionKey: { name: 'executionId', type: dynamodb.AttributeType.STRING },
      sortKey: { name: 'recordId', type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      encryption: tableEncryption,
      encryptionKey: key,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.contextTable = props.contextTable ?? new dynamodb.Table(this, 'ContextTable', {
      partitionKey: { name: 'scope', type: dynamodb.AttributeType.STRING },
      sortKey: { name: 'checkpointId', type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      encryption: tableEncryption,
      encryptionKey: key,
      timeToLiveAttribute: 'ttl',
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
    });
    const artifactRetention = props.artifactRetention ?? Duration.days(365);
    validateRange(this, 'artifactRetention', artifactRetention.toDays({ integral: false }), 1, 36500, { integer: true });
    this.artifactBucket = props.artifactBucket ?? this.createArtifactBucket(key, artifactRetention, ttl);

    // ---- handlers
    const fnDefaults = (role: string): lambda.FunctionOptions => ({
      architecture: lambda.Architecture.ARM_64,
      tracing: lambda.Tracing.ACTIVE,
      memorySize: 256,
      timeout: Duration.seconds(30),
      logGroup: new logs.LogGroup(this, `${role}Logs`, { retention, removalPolicy: RemovalPolicy.DESTROY }),
      environment: {
        WORKFLOW_NAME: this.workflowName,
        METRICS_NAMESPACE: AGENT_WORKFLOW_METRICS_NAMESPACE,
        POWERTOOLS_SERVICE_NAME: `agent-workflow-${role.toLowerCase()}`,
        POWERTOOLS_METRICS_NAMESPACE: AGENT_WORKFLOW_METRICS_NAMESPACE,
      },
    });
    const functions: Record<string, lambda.IFunction> = {};
    const ownFunctions: lambda.Function[] = [];

    // validator
    const rules: ValidationRules = {
      maxSizeBytes,
      contentTypes,
      checkMagicBytes: validation.options.checkMagicBytes ?? true,
      bucket: props.trigger.bucket.bucketName,
      prefix: props.trigger.prefix,
      // metadata the definition reads by path must exist (a missing path would fail the execution)
      requiredMetadata: [...new Set([
        ...(validation.options.requiredMetadata ?? []).map((m) => m.toLowerCase().replace(/[^a-z0-9_]/g, '_')),
        ...[...r.prompt.matchAll(/\{\{\s*metadata\.([a-z0-9_]+)\s*\}\}/g)].map((m) => m[1]),
        ...allConditions.flatMap((c) => c._fields).filter((f) => f._kind === 'metadata').map((f) => f._name),
      ])].sort(),
      // An S3 location names no version: the model reads a copy of the validated version instead
      // (a later overwrite of the upload cannot change what is analysed). Built-in validator only.
      snapshotBucket: snapshot ? this.artifactBucket.bucketName : '',
      snapshotPrefix: SNAPSHOT_PREFIX,
    };
    let validatorFn: lambda.IFunction;
    if (validation.fn) {
      validatorFn = validation.fn;
    } else {
      const v = new ValidatorFunction(this, 'ValidatorFunction', { ...fnDefaults('Validator'), description: 'Agent workflow: validates the input object' });
      grantReadObjects(v, props.trigger.bucket, props.trigger.prefix);
      if (snapshot) {
        v.addToRolePolicy(new iam.PolicyStatement({ actions: ['s3:PutObject'], resources: [this.artifactBucket.arnForObjects(`${SNAPSHOT_PREFIX}*`)] }));
        if (this.artifactBucket.encryptionKey) {
          v.addToRolePolicy(new iam.PolicyStatement({ actions: ['kms:GenerateDataKey', 'kms:Decrypt'], resources: [this.artifactBucket.encryptionKey.keyArn] }));
        }
      }
      ownFunctions.push(v);
      validatorFn = v;
    }
    functions.validator = validatorFn;

    // reasoner (Lambda path, and the checkpoint step of the SDK path)
    const reasoner = new ReasonerFunction(this, 'ReasonerFunction', {
      ...fnDefaults('Reasoner'),
      description: 'Agent workflow: calls Bedrock Converse / checkpoints and validates the answer',
      memorySize: attachment === 'bytes' ? 1024 : 512,
      timeout: Duration.minutes(5),
    });
    reasoner.addEnvironment('ARTIFACT_BUCKET', this.artifactBucket.bucketName);
    reasoner.addEnvironment('ARTIFACT_PREFIX', 'artifacts/');
    reasoner.addEnvironment('CONTEXT_TABLE', this.contextTable.tableName);
    reasoner.addEnvironment('CONTEXT_TTL_SECONDS', String(ttl.toSeconds()));
    reasoner.addToRolePolicy(new iam.PolicyStatement({ actions: ['s3:PutObject'], resources: [this.artifactBucket.arnForObjects('artifacts/*')] }));
    if (this.artifactBucket.encryptionKey) {
      reasoner.addToRolePolicy(new iam.PolicyStatement({ actions: ['kms:GenerateDataKey', 'kms:Decrypt'], resources: [this.artifactBucket.encryptionKey.keyArn] }));
    }
    grantTable(reasoner, this.contextTable, ['dynamodb:PutItem', 'dynamodb:Query']);
    // On the SDK path the state machine calls the model; the reasoner only checkpoints (and summarizes).
    const reasonerCallsModel = invocation === ReasoningInvocation.LAMBDA;
    const invokeArns = [
      ...(reasonerCallsModel ? modelArns(stack, r.modelId, r.inferenceProfileRegions) : []),
      ...(checkpoint.summarizerModelId ? modelArns(stack, checkpoint.summarizerModelId) : []),
    ];
    if (invokeArns.length > 0) {
      reasoner.addToRolePolicy(new iam.PolicyStatement({ actions: ['bedrock:InvokeModel'], resources: [...new Set(invokeArns)] }));
    }
    if (reasonerCallsModel && attachment !== 'none') {
      if (snapshot) grantReadObjects(reasoner, this.artifactBucket, SNAPSHOT_PREFIX);
      else grantReadObjects(reasoner, props.trigger.bucket, props.trigger.prefix);
    }
    ownFunctions.push(reasoner);
    functions.reasoner = reasoner;

    const reasoningConfig: ReasoningConfig = {
      modelId: r.modelId,
      systemPrompt: r.systemPrompt,
      prompt: r.prompt,
      outputSchema: r.outputSchema,
      structuredOutput: structured === StructuredOutput.JSON_SCHEMA ? 'json_schema' : 'tool_use',
      attachment,
      maxTokens,
      temperature: r.temperature ?? -1,
      summarizerModelId: checkpoint.summarizerModelId ?? '',
      memoryItems: checkpoint.memoryItems ?? 3,
      toolName: DEFAULT_SCHEMA_TOOL,
      strictToolUse: r.strictToolUse ?? false,
    };

    // approval
    let approvalRequestFn: lambda.Function | undefined;
    if (approval) {
      const created = this.createApprovalResources(props, approval, escalation, fnDefaults, functions, ownFunctions, key);
      approvalRequestFn = created.request;
      this.approvalsTable = created.table;
      this.signingSecret = created.secret;
      this.approvalApi = created.api;
      this.approvalUrl = created.api.url;
    }

    // ---- the definition
    const definition = this.buildDefinition({
      validatorFn,
      customValidator: !!validation.fn,
      rules,
      reasoner,
      reasoningConfig,
      invocation,
      structured,
      maxTokens,
      attach,
      r,
      tools,
      policy,
      approval,
      approvalRequestFn,
      timeout,
      escalationTimeout,
      hasEscalation: !!escalation,
    });

    this.logGroup = new logs.LogGroup(this, 'StateMachineLogs', { retention, removalPolicy: RemovalPolicy.DESTROY });
    const approvalSeconds = approval ? timeout.toSeconds() + (escalation ? escalationTimeout.toSeconds() : 0) : 0;
    this.stateMachine = new sfn.StateMachine(this, 'StateMachine', {
      stateMachineType: sfn.StateMachineType.STANDARD,
      definitionBody: sfn.DefinitionBody.fromChainable(definition),
      tracingEnabled: true,
      timeout: props.executionTimeout ?? Duration.seconds(approvalSeconds + 3600),
      logs: { destination: this.logGroup, level: props.logLevel ?? sfn.LogLevel.ERROR, includeExecutionData: props.logExecutionData ?? false },
      encryptionConfiguration: key ? new sfn.CustomerManagedEncryptionConfiguration(key) : undefined,
      // With a customer key, aws-cdk-lib scopes the role's key use to the state machine's ARN, which
      // needs the name at synth time (else the condition names no state machine).
      stateMachineName: key ? Names.uniqueResourceName(this, { maxLength: 80, separator: '-' }) : undefined,
    });
    // the audit records are written by the state machine itself (DynamoDB PutItem task)
    grantTable(this.stateMachine, this.auditTable, ['dynamodb:PutItem']);
    for (const statement of this.toolStatements) this.stateMachine.addToRolePolicy(statement);
    if (invocation === ReasoningInvocation.SDK_INTEGRATION && attach) {
      // Bedrock reads the image with the caller's (the state machine's) permissions
      if (snapshot) grantReadObjects(this.stateMachine, this.artifactBucket, SNAPSHOT_PREFIX);
      else grantReadObjects(this.stateMachine, props.trigger.bucket, props.trigger.prefix);
    }

    // ---- trigger
    if (!props.trigger._manualOnly) {
      const created = this.createTrigger(props.trigger, fnDefaults, functions, ownFunctions, key);
      this.triggerQueue = created.queue;
      this.triggerDeadLetterQueue = created.dlq;
    }

    // approval endpoint needs the state machine (task responses)
    if (approval && functions.approvalEndpoint) this.stateMachine.grantTaskResponse(functions.approvalEndpoint);

    this.functions = functions;
    for (const fn of ownFunctions) acknowledgeBasicExecutionRole(fn);
    this.alarms = this.createAlarms(props, ownFunctions, !!approval);
    this.acknowledgeNag(ownFunctions, props.trigger);
  }

  // ------------------------------------------------------------------------------------------
  // verbs

  /** Lets a principal start executions manually (input: `{ bucket, key, versionId, actorId, sessionId }`). */
  public grantStartExecution(grantee: iam.IGrantable): iam.Grant {
    return this.stateMachine.grantStartExecution(grantee);
  }

  /** Lets auditors read the audit trail (and the answer artifacts it points to). */
  public grantReadAudit(grantee: iam.IGrantable): iam.Grant {
    this.artifactBucket.grantRead(grantee, 'artifacts/*');
    return this.auditTable.grantReadData(grantee);
  }

  /** Executions that failed. */
  public metricExecutionsFailed(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.stateMachine.metricFailed({ period: Duration.minutes(5), statistic: 'Sum', ...props });
  }

  /** Executions that timed out. */
  public metricExecutionsTimedOut(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.stateMachine.metricTimedOut({ period: Duration.minutes(5), statistic: 'Sum', ...props });
  }

  /** Age of the oldest pending approval, in seconds (published every 15 minutes). */
  public metricOldestPendingApprovalAge(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.customMetric(METRIC.oldestPendingApprovalAgeSeconds, 'Maximum', props);
  }

  /** Pending approvals. */
  public metricPendingApprovals(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.customMetric(METRIC.pendingApprovals, 'Maximum', props);
  }

  /** Model input tokens (published by the reasoner / checkpoint step). */
  public metricInputTokens(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.customMetric(METRIC.inputTokens, 'Sum', { dimensionsMap: { Workflow: this.workflowName, ModelId: this.modelId }, ...props });
  }

  /** Model output tokens. */
  public metricOutputTokens(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.customMetric(METRIC.outputTokens, 'Sum', { dimensionsMap: { Workflow: this.workflowName, ModelId: this.modelId }, ...props });
  }

  /** Model answers that violated the output schema. */
  public metricSchemaViolations(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.customMetric(METRIC.schemaViolations, 'Sum', { dimensionsMap: { Workflow: this.workflowName, ModelId: this.modelId }, ...props });
  }

  /** Bedrock throttles of the model (AWS/Bedrock InvocationThrottles). */
  public metricModelThrottles(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return new cloudwatch.Metric({
      namespace: 'AWS/Bedrock',
      metricName: 'InvocationThrottles',
      dimensionsMap: { ModelId: this.modelId },
      period: Duration.minutes(5),
      statistic: 'Sum',
      ...props,
    });
  }

  private customMetric(metricName: string, statistic: string, props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return new cloudwatch.Metric({
      namespace: AGENT_WORKFLOW_METRICS_NAMESPACE,
      metricName,
      dimensionsMap: { Workflow: this.workflowName },
      period: Duration.minutes(15),
      statistic,
      ...props,
    });
  }

  // ------------------------------------------------------------------------------------------
  // pieces

  private checkFields(conditions: DecisionCondition[], schema: { [k: string]: any }, toolNames: Set<string>): void {
    const props = (schema.properties ?? {}) as Record<string, any>;
    const comparedAs = new Map<string, string>();
    for (const check of conditions.flatMap((c) => c._checks)) {
      const before = comparedAs.get(check.field.jsonPath);
      if (before && before !== check.type) {
        throwPropError(this, 'approval', `field '${check.field.label}' is compared as both ${before} and ${check.type}: every input would go to a person`);
      }
      comparedAs.set(check.field.jsonPath, check.type);
    }
    for (const c of conditions) {
      for (const f of c._fields as AgentField[]) {
        if (f._kind === 'output') {
          const p = props[f._name];
          if (!p) throwPropError(this, 'approval', `condition '${c.description}' reads output field '${f._name}', which outputSchema does not declare`);
          const types = ([] as string[]).concat(p.type ?? []);
          if (types.some((t) => t === 'object' || t === 'array')) {
            throwPropError(this, 'approval', `condition '${c.description}' reads output field '${f._name}' of type ${types.join('|')}; only scalar fields reach the state`);
          }
        }
        if (f._kind === 'tool' && !toolNames.has(f._tool!)) {
          throwPropError(this, 'approval', `condition '${c.description}' reads tool '${f._tool}', which is not in tools`);
        }
      }
    }
  }

  private createArtifactBucket(key: kms.IKey | undefined, retention: Duration, snapshotTtl: Duration): s3.Bucket {
    const bucket = new s3.Bucket(this, 'ArtifactBucket', {
      encryption: key ? s3.BucketEncryption.KMS : s3.BucketEncryption.S3_MANAGED,
      encryptionKey: key,
      bucketKeyEnabled: !!key,
      enforceSSL: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      versioned: true,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      removalPolicy: RemovalPolicy.RETAIN,
      lifecycleRules: [
        { expiration: retention, noncurrentVersionExpiration: Duration.days(7) },
        // copies of the validated inputs live as long as the checkpoints that point at them
        { prefix: SNAPSHOT_PREFIX, expiration: Duration.days(Math.max(1, Math.ceil(snapshotTtl.toDays({ integral: false })))) },
      ],
    });
    Validations.of(bucket).acknowledge({
      id: 'AwsSolutions-S1',
      reason: 'Artifacts are written only by the reasoner role and read by auditors granted grantReadAudit; access is recorded by CloudTrail data events where the account enables them. Pass artifactBucket to use a bucket with server access logs.',
    });
    return bucket;
  }

  private createApprovalResources(
    props: StepFunctionsAgentWorkflowProps, approval: HumanApproval, escalation: sns.ITopic | undefined,
    fnDefaults: (role: string) => lambda.FunctionOptions, functions: Record<string, lambda.IFunction>, own: lambda.Function[], key?: kms.IKey,
  ): { request: lambda.Function; table: dynamodb.Table; secret: secretsmanager.Secret; api: apigw.RestApi } {
    const table = new dynamodb.Table(this, 'ApprovalsTable', {
      partitionKey: { name: 'approvalId', type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      encryption: key ? dynamodb.TableEncryption.CUSTOMER_MANAGED : dynamodb.TableEncryption.AWS_MANAGED,
      encryptionKey: key,
      timeToLiveAttribute: 'ttl',
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
    });
    table.addGlobalSecondaryIndex({
      indexName: 'byStatus',
      partitionKey: { name: 'status', type: dynamodb.AttributeType.STRING },
      sortKey: { name: 'createdAt', type: dynamodb.AttributeType.NUMBER },
      projectionType: dynamodb.ProjectionType.INCLUDE,
      nonKeyAttributes: ['expiresAt'],
    });
    const secret = new secretsmanager.Secret(this, 'SigningSecret', {
      description: 'HMAC key that signs approval links',
      encryptionKey: key,
      generateSecretString: { passwordLength: 64, excludePunctuation: true },
    });
    Validations.of(secret).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason: 'Rotating the link-signing key invalidates every outstanding approval link; rotate it by hand between approval waves (a new value takes effect within 5 minutes).',
    });

    // endpoint
    const endpoint = new ApprovalEndpointFunction(this, 'ApprovalEndpointFunction', {
      ...fnDefaults('ApprovalEndpoint'), description: 'Agent workflow: approval confirm page and decisions',
    });
    endpoint.addEnvironment('APPROVALS_TABLE', table.tableName);
    endpoint.addEnvironment('AUDIT_TABLE', this.auditTable.tableName);
    endpoint.addEnvironment('SIGNING_SECRET_ARN', secret.secretArn);
    endpoint.addEnvironment('EVENT_BUS_NAME', this.eventBus.eventBusName);
    endpoint.addEnvironment('EVENT_SOURCE', AGENT_WORKFLOW_EVENT_SOURCE);
    grantTable(endpoint, table, ['dynamodb:GetItem', 'dynamodb:UpdateItem']);
    grantTable(endpoint, this.auditTable, ['dynamodb:PutItem']);
    secret.grantRead(endpoint);
    this.eventBus.grantPutEventsTo(endpoint);
    own.push(endpoint);
    functions.approvalEndpoint = endpoint;

    const auth = props.approvalEndpointAuth ?? ApprovalEndpointAuth.signedLinks();
    const accessLogs = props.approvalEndpointAccessLogs ?? true;
    const accessLogGroup = accessLogs ? new logs.LogGroup(this, 'ApprovalApiAccessLogs', {
      retention: props.logRetention ?? logs.RetentionDays.ONE_YEAR, removalPolicy: RemovalPolicy.DESTROY,
    }) : undefined;
    const api = new apigw.RestApi(this, 'ApprovalApi', {
      description: 'Agent workflow approvals',
      endpointTypes: [apigw.EndpointType.REGIONAL],
      cloudWatchRole: false,
      deployOptions: {
        stageName: 'v1',
        throttlingRateLimit: 10,
        throttlingBurstLimit: 20,
        tracingEnabled: true,
        accessLogDestination: accessLogGroup ? new apigw.LogGroupLogDestination(accessLogGroup) : undefined,
        accessLogFormat: accessLogGroup ? apigw.AccessLogFormat.jsonWithStandardFields() : undefined,
      },
    });
    const authorizer = auth._userPool ? new apigw.CognitoUserPoolsAuthorizer(this, 'ApprovalAuthorizer', { cognitoUserPools: [auth._userPool] }) : undefined;
    const methodOptions: apigw.MethodOptions = {
      authorizationType: auth._type,
      authorizer,
      requestValidator: new apigw.RequestValidator(this, 'ApprovalRequestValidator', { restApi: api, validateRequestParameters: true, validateRequestBody: true }),
      requestParameters: { 'method.request.path.id': true },
    };
    const integration = new apigw.LambdaIntegration(endpoint);
    const resource = api.root.addResource('approvals').addResource('{id}');
    resource.addMethod('GET', integration, methodOptions);
    resource.addMethod('POST', integration, methodOptions);

    // request (waitForTaskToken)
    const request = new ApprovalRequestFunction(this, 'ApprovalRequestFunction', {
      ...fnDefaults('ApprovalRequest'), description: 'Agent workflow: stores the task token and notifies approvers',
    });
    request.addEnvironment('APPROVALS_TABLE', table.tableName);
    request.addEnvironment('SIGNING_SECRET_ARN', secret.secretArn);
    // The URL is built from the API id, not from the stage: the stage depends on the endpoint function,
    // whose policy names the state machine, which invokes this function (a cycle otherwise).
    request.addEnvironment('ENDPOINT_URL', `https://${api.restApiId}.execute-api.${Stack.of(this).region}.${Stack.of(this).urlSuffix}/v1/`);
    request.addEnvironment('PRIMARY_TOPIC_ARN', approval.topic.topicArn);
    request.addEnvironment('ESCALATION_TOPIC_ARN', escalation?.topicArn ?? '');
    request.addEnvironment('EVENT_BUS_NAME', this.eventBus.eventBusName);
    request.addEnvironment('EVENT_SOURCE', AGENT_WORKFLOW_EVENT_SOURCE);
    grantTable(request, table, ['dynamodb:PutItem', 'dynamodb:GetItem', 'dynamodb:UpdateItem']);
    secret.grantRead(request);
    approval.topic.grantPublish(request);
    escalation?.grantPublish(request);
    this.eventBus.grantPutEventsTo(request);
    own.push(request);
    functions.approvalRequest = request;

    // monitor
    const monitor = new ApprovalMonitorFunction(this, 'ApprovalMonitorFunction', {
      ...fnDefaults('ApprovalMonitor'), description: 'Agent workflow: publishes pending-approval count and age',
    });
    monitor.addEnvironment('APPROVALS_TABLE', table.tableName);
    grantTable(monitor, table, ['dynamodb:Query'], 'byStatus');
    const monitorDlq = handlerDeadLetterQueue(this, 'ApprovalMonitorDeadLetterQueue', 'the approval monitor schedule', key);
    new events.Rule(this, 'ApprovalMonitorSchedule', {
      schedule: events.Schedule.rate(Duration.minutes(15)),
      targets: [new targets.LambdaFunction(monitor, { deadLetterQueue: monitorDlq, retryAttempts: 2 })],
    });
    own.push(monitor);
    functions.approvalMonitor = monitor;

    for (const id of ['AwsSolutions-APIG3', 'AwsSolutions-APIG6', 'AwsSolutions-COG4', 'AwsSolutions-APIG4', 'AwsSolutions-APIG1']) {
      const reasons: Record<string, string> = {
        'AwsSolutions-APIG3': 'Two routes, throttled to 10 rps per stage; every request needs an HMAC-signed, expiring link checked before any read or write. Attach a WAF web ACL to the stage if your policy requires one.',
        'AwsSolutions-APIG6': 'Execution logging needs the account-level API Gateway CloudWatch role, which this construct does not own; access logs and the handler\'s structured logs record every request.',
        'AwsSolutions-COG4': auth._userPool ? 'A Cognito authorizer is attached.' : 'Approvers authenticate with HMAC-signed, expiring, single-use links (or IAM/Cognito when approvalEndpointAuth says so).',
        'AwsSolutions-APIG4': auth._type === apigw.AuthorizationType.NONE
          ? 'Authorization is the HMAC-signed, expiring, single-use link, verified by the handler before anything is read or changed.'
          : 'IAM or Cognito authorization is configured.',
        'AwsSolutions-APIG1': accessLogs ? 'Access logs are enabled.' : 'Access logs disabled by approvalEndpointAccessLogs: false.',
      };
      Validations.of(api).acknowledge({ id, reason: reasons[id] });
    }
    return { request, table, secret, api };
  }

  private createTrigger(
    trigger: AgentTrigger, fnDefaults: (role: string) => lambda.FunctionOptions,
    functions: Record<string, lambda.IFunction>, own: lambda.Function[], key?: kms.IKey,
  ): { queue: sqs.Queue; dlq: sqs.Queue } {
    if (trigger.bucket instanceof s3.Bucket) {
      trigger.bucket.enableEventBridgeNotification();
    } else {
      Annotations.of(this).addWarningV2('cdk-production-patterns:agent-trigger-eventbridge',
        'The trigger bucket is imported: make sure its EventBridge notifications are enabled, or no execution will start.');
    }
    const dlq = new sqs.Queue(this, 'TriggerDeadLetterQueue', {
      encryption: key ? sqs.QueueEncryption.KMS : sqs.QueueEncryption.SQS_MANAGED,
      encryptionMasterKey: key,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    for (const rule of ['AwsSolutions-SQS3', 'Serverless-SQSRedrivePolicy']) {
      Validations.of(dlq).acknowledge({ id: rule, reason: 'This queue is itself the dead-letter queue of the trigger queue and rule.' });
    }
    const queue = new sqs.Queue(this, 'TriggerQueue', {
      encryption: key ? sqs.QueueEncryption.KMS : sqs.QueueEncryption.SQS_MANAGED,
      encryptionMasterKey: key,
      enforceSSL: true,
      visibilityTimeout: Duration.minutes(3),
      retentionPeriod: Duration.days(4),
      deadLetterQueue: { queue: dlq, maxReceiveCount: 5 },
    });
    const keyMatch = trigger.prefix && trigger.suffix
      ? events.Match.wildcard(`${trigger.prefix.replace(/\*/g, '\\*')}*${trigger.suffix.replace(/\*/g, '\\*')}`)
      : trigger.prefix ? events.Match.prefix(trigger.prefix) : trigger.suffix ? events.Match.suffix(trigger.suffix) : undefined;
    new events.Rule(this, 'ObjectCreatedRule', {
      description: 'S3 Object Created events that start the agent workflow',
      eventPattern: {
        source: ['aws.s3'],
        detailType: ['Object Created'],
        detail: {
          bucket: { name: [trigger.bucket.bucketName] },
          ...(keyMatch ? { object: { key: keyMatch } } : {}),
        },
      },
      targets: [new targets.SqsQueue(queue, { deadLetterQueue: dlq, retryAttempts: 8 })],
    });
    const starter = new StarterFunction(this, 'StarterFunction', {
      ...fnDefaults('Starter'), description: 'Agent workflow: starts one execution per uploaded object (deduplicated by name)',
    });
    starter.addEnvironment('STATE_MACHINE_ARN', this.stateMachine.stateMachineArn);
    this.stateMachine.grantStartExecution(starter);
    starter.addEventSource(new lambdaEvents.SqsEventSource(queue, { batchSize: 10, reportBatchItemFailures: true, maxConcurrency: 5 }));
    own.push(starter);
    functions.starter = starter;
    return { queue, dlq };
  }

  private createAlarms(props: StepFunctionsAgentWorkflowProps, own: lambda.Function[], hasApproval: boolean): cloudwatch.IAlarm[] {
    const alarm = (id: string, metric: cloudwatch.IMetric, description: string, threshold = 1) => {
      const a = new cloudwatch.Alarm(this, id, {
        metric,
        threshold,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        alarmDescription: description,
      });
      if (props.alarmTopic) a.addAlarmAction(new cwActions.SnsAction(props.alarmTopic));
      return a;
    };
    const list: cloudwatch.IAlarm[] = [
      alarm('ExecutionsFailedAlarm', this.metricExecutionsFailed(), 'Agent workflow executions failed (the audit table holds the error of each).'),
      alarm('ExecutionsTimedOutAlarm', this.metricExecutionsTimedOut(), 'Agent workflow executions timed out.'),
      alarm('ExecutionsThrottledAlarm', this.stateMachine.metricThrottled({ period: Duration.minutes(5), statistic: 'Sum' }), 'Agent workflow state transitions were throttled.'),
      alarm('ModelThrottlesAlarm', this.metricModelThrottles(), `Bedrock throttled ${this.modelId} (retried with backoff; sustained throttling means the quota is too low).`, 5),
      alarm('SchemaViolationsAlarm', this.metricSchemaViolations({ period: Duration.minutes(5) }), 'The model answered outside the output schema (the answers are kept in S3).'),
    ];
    if (hasApproval) {
      const age = props.pendingApprovalAlarmAge ?? Duration.hours(24);
      list.push(alarm('PendingApprovalAgeAlarm', this.metricOldestPendingApprovalAge(), `An approval has been pending for more than ${age.toHumanString()}.`, age.toSeconds()));
    }
    own.forEach((fn) => list.push(alarm(`${fn.node.id}ErrorsAlarm`, fn.metricErrors({ period: Duration.minutes(5), statistic: 'Sum' }), `${fn.node.id} errored.`)));
    if (this.triggerDeadLetterQueue) {
      list.push(alarm('TriggerDeadLettersAlarm', this.triggerDeadLetterQueue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(5), statistic: 'Maximum' }),
        'Object Created events could not start an execution; they wait in the trigger dead-letter queue.'));
    }
    return list;
  }

  private acknowledgeNag(own: lambda.Function[], trigger: AgentTrigger): void {
    const ack = (scope: Construct, finding: string, reason: string) => Validations.of(scope).acknowledge({ id: `AwsSolutions-IAM5[${finding}]`, reason });
    const objects = `Resource::${nagArn(this, trigger.bucket.arnForObjects(`${trigger.prefix}*`))}`;
    const objectsReason = 'Read access to the objects under the trigger prefix (inputs are arbitrary keys there); nothing else in the bucket.';
    for (const fn of own) {
      ack(fn, 'Resource::*', 'X-Ray PutTraceSegments/PutTelemetryRecords support no resource-level permissions; every data action is scoped to its table, bucket prefix, topic, secret or state machine.');
    }
    const snapshots = `Resource::${nagArn(this, this.artifactBucket.arnForObjects(`${SNAPSHOT_PREFIX}*`))}`;
    const snapshotsReason = 'Copies of validated inputs under inputs/ (one per object version, keyed by a hash of bucket, key and version): the validator writes them, the model caller reads them.';
    for (const fn of [this.functions.validator, this.functions.reasoner]) {
      if (fn instanceof lambda.Function) {
        ack(fn, objects, objectsReason);
        ack(fn, snapshots, snapshotsReason);
      }
    }
    ack(this.stateMachine, snapshots, snapshotsReason);
    ack(this.functions.reasoner, `Resource::${nagArn(this, this.artifactBucket.arnForObjects('artifacts/*'))}`,
      'The reasoner writes one answer artifact per execution under artifacts/ (keys are per execution); nothing else in the bucket.');
    ack(this.stateMachine, objects, objectsReason);
    ack(this.stateMachine, 'Resource::*', 'X-Ray and CloudWatch Logs delivery actions support no resource-level permissions.');
    for (const fn of [this.functions.validator, this.functions.reasoner, this.functions.approvalRequest]) {
      if (fn) ack(this.stateMachine, `Resource::${nagArn(this, fn.functionArn)}:*`, 'aws-cdk-lib grants invoking the versions of each task function; the functions are this workflow\'s own.');
    }
    if (this.functions.approvalRequest) {
      ack(this.functions.approvalRequest, 'Action::kms:GenerateDataKey*',
        'aws-cdk-lib\'s grant to publish to a KMS-encrypted approval topic; scoped to that topic\'s key.');
    }
    Validations.of(this.stateMachine).acknowledge({
      id: 'AwsSolutions-SF1',
      reason: 'Execution data may hold personal data, so the default log level is ERROR without execution data (logLevel / logExecutionData opt in); the audit table records every outcome.',
    });
    if (this.functions.starter) {
      Validations.of(this.functions.starter).acknowledge({
        id: 'Serverless-LambdaEventSourceMappingDestination',
        reason: 'SQS event sources do not take on-failure destinations: failed messages return to the trigger queue and, after 5 receives, go to its dead-letter queue (alarmed).',
      });
    }
    const notifications = Stack.of(this).node.tryFindChild('BucketNotificationsHandler050a0587b7544547bf325f094a3db834');
    if (notifications) {
      Validations.of(notifications).acknowledge({
        id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
        reason: 'aws-cdk-lib\'s bucket-notifications handler (enables EventBridge notifications on the trigger bucket); the managed policy only writes its own logs.',
      });
    }
    for (const fn of own) {
      Validations.of(fn).acknowledge({
        id: 'Serverless-LambdaDLQ',
        reason: 'Invoked synchronously by Step Functions / API Gateway or through an SQS event source with its own DLQ; failures surface to the caller.',
      });
    }
  }

  // ------------------------------------------------------------------------------------------
  // the state machine definition (JSONPath, no variables: it runs in aws-local-stepfunctions too)

  private buildDefinition(o: {
    validatorFn: lambda.IFunction;
    customValidator: boolean;
    rules: ValidationRules;
    reasoner: lambda.IFunction;
    reasoningConfig: ReasoningConfig;
    invocation: ReasoningInvocation;
    structured: StructuredOutput;
    maxTokens: number;
    attach: boolean;
    r: AgentReasoning['options'];
    tools: AgentTool[];
    policy: ApprovalPolicy;
    approval?: HumanApproval;
    approvalRequestFn?: lambda.IFunction;
    timeout: Duration;
    escalationTimeout: Duration;
    hasEscalation: boolean;
  }): sfn.IChainable {
    const progress = (id: string, step: string, status: string, percent: number) => {
      const t = tasks.EventBridgePutEvents.jsonPath(this, id, {
        entries: [{
          eventBus: this.eventBus,
          source: AGENT_WORKFLOW_EVENT_SOURCE,
          detailType: 'Agent Workflow Progress',
          detail: sfn.TaskInput.fromObject({
            workflow: this.workflowName,
            executionId: sfn.JsonPath.executionId,
            step,
            status,
            percent,
            at: sfn.JsonPath.stringAt('$$.State.EnteredTime'),
          }),
        }],
        resultPath: sfn.JsonPath.DISCARD,
      });
      t.addRetry({ errors: ['EventBridge.EventBridgeException', 'EventBridge.InternalException', 'States.TaskFailed'], maxAttempts: 2, interval: Duration.seconds(1) });
      return t;
    };
    const toProgressOnError = (t: sfn.TaskStateBase, next: sfn.IChainable) => t.addCatch(next, { resultPath: sfn.JsonPath.DISCARD });

    const audit = (id: string, item: Record<string, tasks.DynamoAttributeValue>) => {
      const t = tasks.DynamoPutItem.jsonPath(this, id, {
        table: this.auditTable,
        item: {
          executionId: tasks.DynamoAttributeValue.fromString(sfn.JsonPath.executionId),
          recordId: tasks.DynamoAttributeValue.fromString('OUTCOME'),
          workflow: tasks.DynamoAttributeValue.fromString(this.workflowName),
          startedAt: tasks.DynamoAttributeValue.fromString(sfn.JsonPath.stringAt('$$.Execution.StartTime')),
          finishedAt: tasks.DynamoAttributeValue.fromString(sfn.JsonPath.stringAt('$$.State.EnteredTime')),
          ...item,
        },
        resultPath: sfn.JsonPath.DISCARD,
      });
      t.addRetry({
        errors: DYNAMODB_RETRYABLE,
        maxAttempts: 5,
        interval: Duration.seconds(1),
        backoffRate: 2,
        jitterStrategy: sfn.JitterType.FULL,
      });
      t.addCatch(new sfn.Fail(this, `${id} Failed`, { error: 'AuditWriteFailed', cause: 'The audit record could not be written; see the execution history.' }));
      return t;
    };
    const S = (path: string) => tasks.DynamoAttributeValue.fromString(sfn.JsonPath.stringAt(path));
    const SJ = (path: string) => tasks.DynamoAttributeValue.fromString(sfn.JsonPath.jsonToString(sfn.JsonPath.objectAt(path)));
    const N = (path: string) => tasks.DynamoAttributeValue.numberFromString(sfn.JsonPath.jsonToString(sfn.JsonPath.objectAt(path)));
    const subject = {
      objectBucket: S('$.validation.bucket'),
      objectKey: S('$.validation.key'),
      objectVersion: tasks.DynamoAttributeValue.fromString(sfn.JsonPath.format('{}', sfn.JsonPath.stringAt('$.validation.versionId'))),
      actorId: tasks.DynamoAttributeValue.fromString(sfn.JsonPath.format('{}', sfn.JsonPath.stringAt('$.validation.actorId'))),
      sessionId: tasks.DynamoAttributeValue.fromString(sfn.JsonPath.format('{}', sfn.JsonPath.stringAt('$.validation.sessionId'))),
    };

    // --- failure endings (recorded, then Fail)
    // Error objects from a Catch always carry Error; Cause is kept whole as JSON (a path to a missing
    // field would raise States.Runtime, which no Catch handles).
    const failureDetails = (id: string) => new sfn.Pass(this, id, { parameters: { 'cause.$': 'States.JsonToString($.error)' }, resultPath: '$.failure' });
    const failureDetailsState = failureDetails('Failure Details');
    const progressFailed = progress('Progress Failed', 'failed', 'FAILED', 100);
    toProgressOnError(progressFailed, failureDetailsState);
    const failedEnd = progressFailed.next(failureDetailsState).next(new sfn.Fail(this, 'Workflow Failed', {
      errorPath: '$.error.Error', causePath: '$.failure.cause',
    }));
    const recordFailure = audit('Record Failure', {
      outcome: tasks.DynamoAttributeValue.fromString('FAILED'),
      error: S('$.error.Error'),
      cause: SJ('$.error'),
    }).next(failedEnd);
    const invalidAnswerDetails = failureDetails('Invalid Answer Details');
    const progressInvalidAnswer = progress('Progress Invalid Answer', 'reasoning', 'FAILED', 100);
    toProgressOnError(progressInvalidAnswer, invalidAnswerDetails);
    const invalidAnswerEnd = progressInvalidAnswer.next(invalidAnswerDetails)
      .next(new sfn.Fail(this, 'Invalid Model Answer', { error: SCHEMA_VIOLATION_ERROR, causePath: '$.failure.cause' }));
    const recordInvalidAnswer = audit('Record Invalid Answer', {
      outcome: tasks.DynamoAttributeValue.fromString('ERROR_INVALID_ANSWER'),
      modelId: tasks.DynamoAttributeValue.fromString(o.r.modelId),
      error: S('$.error.Error'),
      cause: SJ('$.error'),
      ...subject,
    }).next(invalidAnswerEnd);
    const catchAll = (t: sfn.TaskStateBase | sfn.Parallel) => t.addCatch(recordFailure, { errors: ['States.ALL'], resultPath: '$.error' });

    // --- validation
    // A custom validator's answer is merged over a complete result (every field the definition reads
    // by path), so a partial answer such as { valid: false, reason } cannot fail the execution.
    const nullValue = "States.StringToJson('null')";
    const validationDefaults = {
      'valid': false,
      'reason': 'the validator gave no reason',
      'bucket': '',
      'key': '',
      'versionId.$': nullValue,
      'size': 0,
      'contentType': '',
      'etag': '',
      'actorId': '',
      'sessionId': '',
      'memoryScope': '',
      'analysisBucket': '',
      'analysisKey': '',
      'metadata': {},
    };
    const validate = tasks.LambdaInvoke.jsonPath(this, 'Validate Input', {
      lambdaFunction: o.validatorFn,
      payload: sfn.TaskInput.fromObject({ 'request.$': '$', 'rules': o.rules }),
      payloadResponseOnly: true,
      resultSelector: o.customValidator ? { 'raw.$': '$', 'defaults': validationDefaults } : undefined,
      resultPath: o.customValidator ? '$.validatorAnswer' : '$.validation',
      retryOnServiceExceptions: true,
    });
    validate.addRetry({
      // PreconditionFailed: the object was replaced between HEAD and the magic-bytes read
      errors: ['SlowDown', 'InternalError', 'ServiceUnavailable', 'TimeoutError', 'ThrottlingException', 'PreconditionFailed'],
      maxAttempts: 3,
      interval: Duration.seconds(2),
      backoffRate: 2,
      jitterStrategy: sfn.JitterType.FULL,
    });
    lambdaThrottleRetry(validate);
    catchAll(validate);

    const rejectedInvalid = audit('Record Rejected Input', {
      outcome: tasks.DynamoAttributeValue.fromString('REJECTED_INVALID'),
      reason: S('$.validation.reason'),
      objectBucket: S('$.validation.bucket'),
      objectKey: S('$.validation.key'),
    });
    const rejectedEnd = new sfn.Succeed(this, 'Rejected Invalid Input', { outputPath: '$.validation' });
    const progressRejected = progress('Progress Rejected', 'validation', 'REJECTED_INVALID', 100);
    toProgressOnError(progressRejected, rejectedEnd);
    rejectedInvalid.next(progressRejected).next(rejectedEnd);

    // --- reasoning
    let reasonChain: sfn.IChainable & sfn.INextable;
    let reasonFirst: sfn.IChainable;
    const modelRetry = (t: sfn.TaskStateBase, errorNames: string[]) => t.addRetry({
      errors: errorNames,
      maxAttempts: o.r.maxRetries ?? 5,
      interval: o.r.retryInterval ?? Duration.seconds(2),
      backoffRate: 2,
      maxDelay: Duration.seconds(60),
      jitterStrategy: sfn.JitterType.FULL,
    });
    const checkpointPayload = (mode: string) => sfn.TaskInput.fromObject({
      mode,
      'executionId.$': '$$.Execution.Id',
      'step': 'reason',
      'validation.$': '$.validation',
      'config': o.reasoningConfig,
      ...(mode === 'checkpoint' ? { 'raw.$': '$.reasoning' } : {}),
    });
    if (o.invocation === ReasoningInvocation.LAMBDA) {
      const reason = tasks.LambdaInvoke.jsonPath(this, 'Reason', {
        lambdaFunction: o.reasoner,
        payload: checkpointPayload('invoke'),
        payloadResponseOnly: true,
        resultPath: '$.reasoning',
        retryOnServiceExceptions: true,
      });
      modelRetry(reason, RETRYABLE_MODEL_ERRORS);
      lambdaThrottleRetry(reason);
      const schemaRetries = o.r.schemaRetries ?? 1;
      if (schemaRetries > 0) reason.addRetry({ errors: [SCHEMA_VIOLATION_ERROR], maxAttempts: schemaRetries, interval: Duration.seconds(1) });
      reason.addCatch(recordInvalidAnswer, { errors: [SCHEMA_VIOLATION_ERROR], resultPath: '$.error' });
      catchAll(reason);
      reasonChain = reason;
      reasonFirst = reason;
    } else {
      const converse = tasks.CallAwsService.jsonPath(this, 'Reason', {
        service: 'bedrockruntime',
        action: 'converse',
        iamAction: 'bedrock:InvokeModel',
        iamResources: modelArns(Stack.of(this), o.r.modelId, o.r.inferenceProfileRegions),
        parameters: this.converseParameters(o.r, o.structured, o.maxTokens, o.attach, o.reasoningConfig.memoryItems > 0, !o.customValidator),
        resultSelector: { 'stopReason.$': '$.StopReason', 'content.$': '$.Output.Message.Content', 'usage.$': '$.Usage' },
        resultPath: '$.reasoning',
      });
      const sdkErrors = RETRYABLE_MODEL_ERRORS.flatMap((e) => [`BedrockRuntime.${e}`, `Bedrockruntime.${e}`]);
      modelRetry(converse, sdkErrors);
      catchAll(converse);
      const cp = tasks.LambdaInvoke.jsonPath(this, 'Checkpoint Answer', {
        lambdaFunction: o.reasoner,
        payload: checkpointPayload('checkpoint'),
        payloadResponseOnly: true,
        resultPath: '$.reasoning',
        retryOnServiceExceptions: true,
      });
      lambdaThrottleRetry(cp);
      cp.addCatch(recordInvalidAnswer, { errors: [SCHEMA_VIOLATION_ERROR], resultPath: '$.error' });
      catchAll(cp);
      reasonChain = converse.next(cp) as any;
      reasonFirst = converse;
      if (o.reasoningConfig.memoryItems > 0) {
        // Memory for the SDK path: the newest summaries of the same actor/session join the prompt.
        const load = tasks.CallAwsService.jsonPath(this, 'Load Memory', {
          service: 'dynamodb',
          action: 'query',
          parameters: {
            TableName: this.contextTable.tableName,
            KeyConditionExpression: '#scope = :scope',
            ExpressionAttributeNames: { '#scope': 'scope', '#summary': 'summary' },
            ExpressionAttributeValues: { ':scope': { 'S.$': '$.validation.memoryScope' } },
            ProjectionExpression: '#summary',
            ScanIndexForward: false,
            Limit: o.reasoningConfig.memoryItems,
          },
          iamResources: [this.contextTable.tableArn],
          additionalIamStatements: this.contextTable.encryptionKey
            ? [new iam.PolicyStatement({ actions: ['kms:Decrypt'], resources: [this.contextTable.encryptionKey.keyArn] })]
            : undefined,
          resultSelector: { 'items.$': '$.Items' },
          resultPath: '$.memory',
        });
        load.addRetry({
          errors: DYNAMODB_RETRYABLE,
          maxAttempts: 3,
          interval: Duration.seconds(1),
          backoffRate: 2,
          jitterStrategy: sfn.JitterType.FULL,
        });
        catchAll(load);
        const none = new sfn.Pass(this, 'No Memory', { result: sfn.Result.fromObject({ items: [] }), resultPath: '$.memory' });
        reasonFirst = new sfn.Choice(this, 'Has Memory Scope?')
          .when(sfn.Condition.stringEquals('$.validation.memoryScope', ''), none.next(converse))
          .otherwise(load.next(converse));
      }
    }

    // --- tools
    let toolsState: sfn.State & sfn.INextable;
    if (o.tools.length > 0) {
      const parallel = new sfn.Parallel(this, 'Run Tools', {
        resultPath: '$.tools',
        resultSelector: Object.fromEntries(o.tools.map((t, i) => [`${t.name}.$`, `$[${i}]`])),
      });
      for (const t of o.tools) {
        const bound = t._bind(this, `Tool ${t.name}`);
        bound.state.addRetry({ errors: ['States.TaskFailed'], maxAttempts: 2, interval: Duration.seconds(2), backoffRate: 2, jitterStrategy: sfn.JitterType.FULL });
        parallel.branch(bound.branch);
        this.toolStatements.push(...(bound.policyStatements ?? []));
      }
      catchAll(parallel);
      toolsState = parallel;
    } else {
      toolsState = new sfn.Pass(this, 'No Tools', { result: sfn.Result.fromObject({}), resultPath: '$.tools' });
    }
    // The digest is computed by the reasoner function: States.Hash takes at most 10,000 characters.
    const digest = tasks.LambdaInvoke.jsonPath(this, 'Digest Tool Results', {
      lambdaFunction: o.reasoner,
      payload: sfn.TaskInput.fromObject({ 'mode': 'digest', 'tools.$': '$.tools' }),
      payloadResponseOnly: true,
      resultPath: '$.toolsDigest',
      retryOnServiceExceptions: true,
    });
    lambdaThrottleRetry(digest);
    catchAll(digest);

    // --- decision
    const verdict = (id: string, route: string, outcome: string, reason: string | undefined, extra: Record<string, string> = {}) =>
      new sfn.Pass(this, id, {
        parameters: {
          route,
          outcome,
          ...(reason !== undefined ? { reason } : { 'reason.$': '$.verdict.reason' }),
          'approver': 'policy',
          'approverName': '',
          'comment': '',
          'approvalId': '',
          'decidedAt.$': '$$.State.EnteredTime',
          ...extra,
        },
        resultPath: '$.verdict',
      });

    const recordOutcome = audit('Record Outcome', {
      outcome: S('$.verdict.outcome'),
      route: S('$.verdict.route'),
      reason: S('$.verdict.reason'),
      approver: S('$.verdict.approver'),
      approverName: S('$.verdict.approverName'),
      comment: S('$.verdict.comment'),
      approvalId: S('$.verdict.approvalId'),
      decidedAt: S('$.verdict.decidedAt'),
      ...subject,
      modelId: S('$.reasoning.modelId'),
      promptHash: S('$.reasoning.promptHash'),
      outputDigest: S('$.reasoning.outputDigest'),
      structuredOutput: SJ('$.reasoning.fields'),
      artifactKey: S('$.reasoning.artifactKey'),
      summary: S('$.reasoning.summary'),
      toolResults: SJ('$.tools'),
      toolsDigest: S('$.toolsDigest.value'),
      inputTokens: N('$.reasoning.usage.inputTokens'),
      outputTokens: N('$.reasoning.usage.outputTokens'),
    });
    const progressCompleted = progress('Progress Completed', 'completed', 'COMPLETED', 100);
    const result = new sfn.Pass(this, 'Result', {
      parameters: {
        'outcome.$': '$.verdict.outcome',
        'route.$': '$.verdict.route',
        'reason.$': '$.verdict.reason',
        'approver.$': '$.verdict.approver',
        'executionId.$': '$$.Execution.Id',
        'fields.$': '$.reasoning.fields',
        'artifactKey.$': '$.reasoning.artifactKey',
      },
    });
    toProgressOnError(progressCompleted, result);
    recordOutcome.next(progressCompleted).next(result).next(new sfn.Succeed(this, 'Done'));

    // The decision is a Choice when there is anything to decide; a Choice with only a Default is not
    // valid ASL, so a policy without rules goes straight to its verdict.
    const rules: { condition: sfn.Condition; next: sfn.IChainable }[] = [];
    let defaultTarget: sfn.IChainable;
    const decideWhen = (condition: sfn.Condition, next: sfn.IChainable) => rules.push({ condition, next });
    let awaiting: sfn.TaskStateBase | undefined;
    if (o.approval && o.approvalRequestFn) {
      const human = this.buildApproval(o.approval, o.approvalRequestFn, o.timeout, o.escalationTimeout, o.hasEscalation, recordOutcome, catchAll);
      awaiting = progress('Progress Awaiting Approval', 'approval', 'AWAITING_APPROVAL', 75);
      toProgressOnError(awaiting, human);
      awaiting.next(human);
    }
    const toPerson = (id: string, reason: string) => verdict(id, 'HUMAN', 'PENDING', `approval required: ${reason}`).next(awaiting!);
    // 1. Missing or mistyped data never decides: one rule per field and problem, evaluated in order,
    //    so the comparisons below only ever meet present, well-typed values.
    const seen = new Set<string>();
    const checks = [...o.policy.rejectWhen, ...(o.policy._always ? [] : o.policy.conditions)].flatMap((c) => c._checks)
      .filter((c) => !seen.has(`${c.field.jsonPath}|${c.type}`) && !!seen.add(`${c.field.jsonPath}|${c.type}`));
    checks.forEach((check, i) => {
      const problems = fieldProblems(check);
      const onProblem = (id: string, reason: string) => (awaiting
        ? toPerson(id, reason)
        : verdict(id, 'POLICY', 'AUTO_REJECTED', `auto-rejected: ${reason}`).next(recordOutcome));
      decideWhen(problems.missing, onProblem(`Missing Field ${i + 1}`, `${check.field.label} is missing`));
      decideWhen(problems.mistyped, onProblem(`Mistyped Field ${i + 1}`, `${check.field.label} is null or not a ${check.type}`));
    });
    // 2. Rejections, 3. approvals, 4. otherwise: approve automatically, or ask a person when every input needs one.
    o.policy.rejectWhen.forEach((c, i) => decideWhen(c._comparison,
      verdict(`Auto Reject ${i + 1}`, 'POLICY', 'AUTO_REJECTED', `auto-rejected: ${c.description}`).next(recordOutcome)));
    if (o.policy._always && awaiting) {
      defaultTarget = verdict('Approval Always Required', 'HUMAN', 'PENDING', 'approval required for every input').next(awaiting);
    } else {
      if (awaiting) o.policy.conditions.forEach((c, i) => decideWhen(c._comparison, toPerson(`Needs Approval ${i + 1}`, c.description)));
      defaultTarget = verdict('Auto Approve', 'POLICY', 'AUTO_APPROVED', 'no approval condition matched').next(recordOutcome);
    }

    let decide: sfn.IChainable = defaultTarget!;
    if (rules.length > 0) {
      const choice = new sfn.Choice(this, 'Decide');
      for (const rule of rules) choice.when(rule.condition, rule.next);
      decide = choice.otherwise(defaultTarget!);
    }

    // --- wiring
    const started = progress('Progress Started', 'started', 'RUNNING', 0);
    const validated = progress('Progress Validated', 'validation', 'VALID', 20);
    const reasoned = progress('Progress Reasoned', 'reasoning', 'DONE', 50);
    const toolsDone = progress('Progress Tools Done', 'tools', 'DONE', 65);
    toProgressOnError(started, validate);
    toProgressOnError(validated, reasonFirst);
    toProgressOnError(reasoned, toolsState);
    toProgressOnError(toolsDone, decide);

    const validChoice = new sfn.Choice(this, 'Input Valid?')
      .when(sfn.Condition.booleanEquals('$.validation.valid', true), validated)
      .otherwise(rejectedInvalid);
    validated.next(reasonFirst);
    reasonChain.next(reasoned);
    reasoned.next(toolsState);
    toolsState.next(digest);
    digest.next(toolsDone);
    toolsDone.next(decide);
    if (!o.customValidator) return started.next(validate).next(validChoice);
    const merge = new sfn.Pass(this, 'Complete Validation', {
      parameters: { 'merged.$': 'States.JsonMerge($.validatorAnswer.defaults, $.validatorAnswer.raw, false)' },
      resultPath: '$.validatorAnswer',
    });
    const place = new sfn.Pass(this, 'Use Validation', { inputPath: '$.validatorAnswer.merged', resultPath: '$.validation' });
    const required = o.rules.requiredMetadata ?? [];
    if (required.length === 0) return started.next(validate).next(merge).next(place).next(validChoice);
    // Metadata the definition reads by path must be there whatever the custom validator said (one rule
    // per name and problem, in order: a missing path never reaches a type test).
    const missing = new sfn.Pass(this, 'Missing Metadata', {
      result: sfn.Result.fromString(`missing or non-string object metadata (required: ${required.join(', ')})`),
      resultPath: '$.validation.reason',
    }).next(rejectedInvalid);
    const metadataCheck = new sfn.Choice(this, 'Required Metadata?');
    for (const name of required) {
      metadataCheck.when(sfn.Condition.not(sfn.Condition.isPresent(`$.validation.metadata.${name}`)), missing);
      metadataCheck.when(sfn.Condition.not(sfn.Condition.isString(`$.validation.metadata.${name}`)), missing);
    }
    metadataCheck.otherwise(validChoice);
    return started.next(validate).next(merge).next(place).next(metadataCheck);
  }

  private buildApproval(
    approval: HumanApproval, fn: lambda.IFunction, timeout: Duration, escalationTimeout: Duration, hasEscalation: boolean,
    recordOutcome: sfn.IChainable, catchAll: (t: sfn.TaskStateBase) => void,
  ): sfn.TaskStateBase {
    const request = (id: string, stage: string, wait: Duration) => tasks.LambdaInvoke.jsonPath(this, id, {
      lambdaFunction: fn,
      integrationPattern: sfn.IntegrationPattern.WAIT_FOR_TASK_TOKEN,
      payload: sfn.TaskInput.fromObject({
        taskToken: sfn.JsonPath.taskToken,
        executionId: sfn.JsonPath.executionId,
        stage,
        timeoutSeconds: wait.toSeconds(),
        reason: sfn.JsonPath.stringAt('$.verdict.reason'),
        subject: { 'bucket.$': '$.validation.bucket', 'key.$': '$.validation.key', 'versionId.$': '$.validation.versionId' },
        fields: sfn.JsonPath.objectAt('$.reasoning.fields'),
        summary: sfn.JsonPath.stringAt('$.reasoning.summary'),
        tools: sfn.JsonPath.objectAt('$.tools'),
        heartbeatSeconds: approval.options.heartbeat?.toSeconds() ?? 0,
      }),
      taskTimeout: sfn.Timeout.duration(wait),
      heartbeatTimeout: approval.options.heartbeat ? sfn.Timeout.duration(approval.options.heartbeat) : undefined,
      resultPath: '$.approval',
    });
    const approvedVerdict = (id: string) => new sfn.Pass(this, id, {
      parameters: {
        'route': 'HUMAN',
        'outcome': 'APPROVED',
        'reason.$': '$.verdict.reason',
        'approver.$': '$.approval.approver',
        'approverName.$': '$.approval.approverName',
        'comment.$': '$.approval.comment',
        'approvalId.$': '$.approval.approvalId',
        'decidedAt.$': '$.approval.decidedAt',
      },
      resultPath: '$.verdict',
    });
    const parseRejection = new sfn.Pass(this, 'Parse Rejection', {
      parameters: { 'decision.$': 'States.StringToJson($.approvalError.Cause)' },
      resultPath: '$.approval',
    });
    const rejectedVerdict = new sfn.Pass(this, 'Rejected by Human', {
      parameters: {
        'route': 'HUMAN',
        'outcome': 'REJECTED',
        'reason.$': '$.verdict.reason',
        'approver.$': '$.approval.decision.approver',
        'approverName.$': '$.approval.decision.approverName',
        'comment.$': '$.approval.decision.comment',
        'approvalId.$': '$.approval.decision.approvalId',
        'decidedAt.$': '$.approval.decision.decidedAt',
      },
      resultPath: '$.verdict',
    });
    parseRejection.next(rejectedVerdict).next(recordOutcome);
    const timedOut = new sfn.Pass(this, 'Approval Timed Out', {
      parameters: {
        'route': 'HUMAN',
        'outcome': 'REJECTED_TIMEOUT',
        'reason.$': '$.verdict.reason',
        'approver': 'timeout',
        'approverName': '',
        'comment': 'no decision before the approval timeout',
        'approvalId': '',
        'decidedAt.$': '$$.State.EnteredTime',
      },
      resultPath: '$.verdict',
    });
    timedOut.next(recordOutcome);

    const primary = request('Request Approval', 'primary', timeout);
    lambdaThrottleRetry(primary);
    primary.next(approvedVerdict('Approved by Human').next(recordOutcome));
    primary.addCatch(parseRejection, { errors: [APPROVAL_REJECTED_ERROR], resultPath: '$.approvalError' });
    if (hasEscalation) {
      const escalate = request('Escalate Approval', 'escalation', escalationTimeout);
      lambdaThrottleRetry(escalate);
      escalate.next(approvedVerdict('Approved after Escalation').next(recordOutcome));
      escalate.addCatch(parseRejection, { errors: [APPROVAL_REJECTED_ERROR], resultPath: '$.approvalError' });
      escalate.addCatch(timedOut, { errors: ['States.Timeout', 'States.HeartbeatTimeout'], resultPath: '$.approvalError' });
      catchAll(escalate);
      primary.addCatch(escalate, { errors: ['States.Timeout', 'States.HeartbeatTimeout'], resultPath: '$.approvalError' });
    } else {
      primary.addCatch(timedOut, { errors: ['States.Timeout', 'States.HeartbeatTimeout'], resultPath: '$.approvalError' });
    }
    catchAll(primary);
    return primary;
  }

  private converseParameters(
    r: AgentReasoning['options'], structured: StructuredOutput, maxTokens: number, attach: boolean, memory: boolean, snapshot: boolean,
  ): Record<string, any> {
    const content: any[] = [promptContent(r.prompt)];
    if (memory) {
      content.push({ 'Text.$': "States.Format('Context from earlier requests of the same actor/session (newest first): {}', States.JsonToString($.memory.items))" });
    }
    if (attach) {
      content.push({
        Image: {
          'Format.$': "States.ArrayGetItem(States.StringSplit($.validation.contentType, '/'), 1)",
          'Source': {
            S3Location: {
              'Uri.$': snapshot
                ? "States.Format('s3://{}/{}', $.validation.analysisBucket, $.validation.analysisKey)"
                : "States.Format('s3://{}/{}', $.validation.bucket, $.validation.key)",
            },
          },
        },
      });
    }
    const params: Record<string, any> = {
      ModelId: r.modelId,
      System: [{ Text: r.systemPrompt }],
      Messages: [{ Role: 'user', Content: content }],
      InferenceConfig: { MaxTokens: maxTokens, ...(r.temperature !== undefined ? { Temperature: r.temperature } : {}) },
    };
    if (structured === StructuredOutput.JSON_SCHEMA) {
      params.OutputConfig = { TextFormat: { Type: 'json_schema', Structure: { JsonSchema: { Schema: JSON.stringify(r.outputSchema), Name: DEFAULT_SCHEMA_TOOL } } } };
    } else {
      params.ToolConfig = {
        Tools: [{
          ToolSpec: {
            Name: DEFAULT_SCHEMA_TOOL,
            Description: 'Record the structured answer.',
            InputSchema: { Json: r.outputSchema },
            ...(r.strictToolUse ? { Strict: true } : {}),
          },
        }],
        ToolChoice: { Tool: { Name: DEFAULT_SCHEMA_TOOL } },
      };
    }
    return params;
  }
}

/** Lambda throttling (the account's concurrency) is retried with backoff and jitter, not failed. */
function lambdaThrottleRetry(t: sfn.TaskStateBase): void {
  t.addRetry({
    errors: ['Lambda.TooManyRequestsException'], maxAttempts: 6, interval: Duration.seconds(2), backoffRate: 2, jitterStrategy: sfn.JitterType.FULL,
  });
}

/** An ARN as cdk-nag names it in a finding id (`<LogicalId.Arn>/prefix*`). */
function nagArn(scope: Construct, arn: string): string {
  const render = (v: any): string => {
    if (typeof v === 'string') return v;
    if (v?.['Fn::GetAtt']) return `<${v['Fn::GetAtt'].join('.')}>`;
    if (v?.Ref) return `<${v.Ref}>`;
    if (v?.['Fn::Join']) return (v['Fn::Join'][1] as any[]).map(render).join(v['Fn::Join'][0]);
    return JSON.stringify(v);
  };
  return render(Stack.of(scope).resolve(arn));
}

/** s3:GetObject(Version) on the objects under a prefix, s3:ListBucket for it (so a missing object is a 404), and the bucket key. */
function grantReadObjects(grantee: iam.IGrantable, bucket: s3.IBucket, prefix: string): void {
  iam.Grant.addToPrincipal({ grantee, actions: ['s3:GetObject', 's3:GetObjectVersion'], resourceArns: [bucket.arnForObjects(`${prefix}*`)] });
  // ListBucket on the bucket (key names only): without it S3 answers a missing object with 403, not
  // 404. No s3:prefix condition: HEAD/GET requests carry no such key, so the allow would not apply.
  iam.Grant.addToPrincipal({ grantee, actions: ['s3:ListBucket'], resourceArns: [bucket.bucketArn] });
  bucket.encryptionKey?.grantDecrypt(grantee);
}

/** Exactly these actions on the table (and one named index), and the table key's data-key actions. */
function grantTable(grantee: iam.IGrantable, table: dynamodb.ITable, actions: string[], index?: string): void {
  iam.Grant.addToPrincipal({ grantee, actions, resourceArns: [index ? `${table.tableArn}/index/${index}` : table.tableArn] });
  if (table.encryptionKey) {
    iam.Grant.addToPrincipal({ grantee, actions: ['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey', 'kms:DescribeKey'], resourceArns: [table.encryptionKey.keyArn] });
  }
}

const PLACEHOLDER = /\{\{\s*(key|bucket|contentType|metadata\.[a-z0-9_]+)\s*\}\}/g;

/** The prompt as a Converse text block; placeholders become a States.Format call over the validation result. */
function promptContent(prompt: string): Record<string, string> {
  const args: string[] = [];
  let literal = '';
  let last = 0;
  const escape = (s: string) => s.replace(/[\\'{}]/g, (c) => `\\${c}`);
  for (const m of prompt.matchAll(PLACEHOLDER)) {
    literal += escape(prompt.slice(last, m.index)) + '{}';
    args.push(`$.validation.${m[1]}`);
    last = m.index! + m[0].length;
  }
  if (args.length === 0) return { Text: prompt };
  literal += escape(prompt.slice(last));
  return { 'Text.$': `States.Format('${literal}', ${args.join(', ')})` };
}

