import { Annotations, Duration, Names, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cognito from 'aws-cdk-lib/aws-cognito';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { AgentReasoning, ReasoningInvocation, StructuredOutput } from './agent-reasoning';
import { AgentTool } from './agent-tool';
import { AgentTrigger } from './agent-trigger';
import { workflowAlarms } from './alarms';
import { ApprovalPolicy } from './approval';
import { ApprovalEndpoint, HandlerFactory } from './approval-endpoint';
import { ContextCheckpointOptions } from './context-checkpoint';
import { buildDefinition, DEFAULT_SCHEMA_TOOL, DefinitionContext } from './definition';
import { grantReadObjects, grantTable } from './grants';
import { InputValidation } from './input-validation';
import { modelArns } from './model-arns';
import { acknowledgeWorkflowFindings } from './nag';
import { resolveConfig, ResolvedConfig } from './resolved-config';
import { METRIC, METRICS_NAMESPACE, ReasoningConfig, ValidationRules } from './runtime/contracts';
import { ReasonerFunction } from './runtime/reasoner-function';
import { ValidatorFunction } from './runtime/validator-function';
import { throwPropError } from '../core/errors';
import { allowLogsToUseKey, bundledFunction } from '../core/functions';
import { HandlerNetworkProps } from '../core/handler-network-props';
import { handlerNetwork } from '../core/network';

/** The metrics namespace of the bundled handlers (`StepFunctionsAgentWorkflow.METRICS_NAMESPACE` in every language). */
export const AGENT_WORKFLOW_METRICS_NAMESPACE: string = METRICS_NAMESPACE;
/** The EventBridge `source` of progress and approval events (`StepFunctionsAgentWorkflow.EVENT_SOURCE` in every language). */
export const AGENT_WORKFLOW_EVENT_SOURCE = 'cdk-production-patterns.agent-workflow';

/** How approvers authenticate to the approval endpoint. */
export class ApprovalEndpointAuth {
  /**
   * The signed, expiring link is the credential (works from any mail client).
   *
   * The approver is recorded as `link:<stage>`.
   */
  public static signedLinks(): ApprovalEndpointAuth {
    return new ApprovalEndpointAuth(apigw.AuthorizationType.NONE);
  }
  /**
   * IAM (SigV4) callers only, plus the signed link.
   *
   * The approver is the caller's ARN. For tools and consoles, not mail clients.
   */
  public static iam(): ApprovalEndpointAuth {
    return new ApprovalEndpointAuth(apigw.AuthorizationType.IAM);
  }
  /**
   * Cognito user-pool tokens, plus the signed link.
   *
   * The approver is the user's email (or sub).
   * @param userPool the user pool whose tokens the endpoint accepts
   */
  public static cognito(userPool: cognito.IUserPool): ApprovalEndpointAuth {
    return new ApprovalEndpointAuth(apigw.AuthorizationType.COGNITO, userPool);
  }
  private constructor(
    /** @internal */ public readonly _type: apigw.AuthorizationType,
    /** @internal */ public readonly _userPool?: cognito.IUserPool,
  ) {}
}

/**
 * Props of StepFunctionsAgentWorkflow.
 *
 * `handlerVpc`, `handlerVpcSubnets` and `handlerSecurityGroups` place every handler of the workflow
 * (validator, reasoner, starter, approval request, endpoint and monitor, signing-key rotation) in
 * your VPC (CT.LAMBDA.PR.3). The handlers call S3, DynamoDB, Step Functions, EventBridge, Bedrock
 * Runtime, Secrets Manager, SNS, CloudWatch and X-Ray: the subnets need a NAT gateway or VPC
 * endpoints for these services (gateway endpoints for S3 and DynamoDB, interface endpoints for the
 * others). A `lambdaFunction` validator of yours keeps its own network.
 */
export interface StepFunctionsAgentWorkflowProps extends HandlerNetworkProps {
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
   * Tool and enrichment steps, run in parallel after reasoning (results join `$.tools.<name>`).
   *
   * More than 5 tools draws a synth-time warning (`AgentWorkflowWarnings.TOO_MANY_TOOLS`).
   * @default - none
   */
  readonly tools?: AgentTool[];
  /**
   * When a person must approve.
   * @default ApprovalPolicy.never() - approve automatically
   */
  readonly approval?: ApprovalPolicy;
  /**
   * Options of context checkpointing, which is always on (it keeps state payloads small).
   * @default - a deterministic summary, kept 30 days, with the 3 prior summaries as memory
   */
  readonly checkpoint?: ContextCheckpointOptions;
  /**
   * A name for the workflow in metrics and events.
   * @default - a name derived from the construct path
   */
  readonly workflowName?: string;
  /**
   * Customer managed key for the tables, queues, artifacts bucket, secret, state machine and every
   * log group the workflow creates (handlers, state machine, approval API access and execution logs).
   *
   * A key defined in this app gets the key-policy statement that lets CloudWatch Logs use it for
   * this account's and region's log groups; an imported key's policy must already allow it
   * (warning `AgentWorkflowWarnings.IMPORTED_KEY_FOR_HANDLER_LOGS`).
   * @default - AWS owned / managed keys
   */
  readonly encryptionKey?: kms.IKey;
  /**
   * Bucket for answer artifacts (under `artifacts/`) and copies of validated inputs (under `inputs/`).
   *
   * Give your bucket a lifecycle rule for the input copies.
   * @default - a new encrypted, versioned bucket: artifacts expire after `artifactRetention`, input copies with the checkpoint TTL
   */
  readonly artifactBucket?: s3.IBucket;
  /**
   * How long the created artifact bucket keeps answer artifacts (the audit trail points at them).
   * @default Duration.days(365)
   */
  readonly artifactRetention?: Duration;
  /**
   * Bucket that receives the server access logs of the created artifact bucket (under
   * `<workflowName>/`), as CT.S3.PR.2 and cdk-nag's AwsSolutions-S1 ask. Not with `artifactBucket`
   * (configure logging on your own bucket).
   * @default - no server access logs; reads and writes are recorded by CloudTrail data events where the account enables them
   */
  readonly artifactAccessLogsBucket?: s3.IBucket;
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
   * API Gateway access logs for the approval endpoint.
   *
   * Needs the account's API Gateway CloudWatch role (`apigateway.CfnAccount`'s `cloudWatchRoleArn`,
   * set once per account and region), as execution logging does.
   * @default true
   */
  readonly approvalEndpointAccessLogs?: boolean;
  /**
   * API Gateway execution logging of the approval endpoint's stage, for every method (CT.APIGATEWAY.PR.1
   * asks for ERROR or INFO). Request and response data are never logged (they may hold personal data).
   *
   * Execution logs go to the log group `API-Gateway-Execution-Logs_<api id>/v1`, which the workflow
   * creates (with `logRetention`, encrypted with `encryptionKey`). Like access logs, execution
   * logging needs the account's API Gateway CloudWatch role (`apigateway.CfnAccount`'s
   * `cloudWatchRoleArn`): in an account and region without one the stage fails to deploy, so set
   * `apigateway.MethodLoggingLevel.OFF` (and `approvalEndpointAccessLogs: false`) there.
   * @default apigateway.MethodLoggingLevel.ERROR
   */
  readonly approvalEndpointLoggingLevel?: apigw.MethodLoggingLevel;
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
   * Topic every alarm notifies (CT.CLOUDWATCH.PR.1 asks every alarm for an action).
   * @default - alarms without actions
   */
  readonly alarmTopic?: sns.ITopic;
}

/** Key prefix of the validated-input copies in the artifact bucket. */
const SNAPSHOT_PREFIX = 'inputs/';

/**
 * An AI agent run as explicit, auditable infrastructure: S3 trigger → input validation →
 * Bedrock Converse with JSON-schema structured output (checkpointed to S3 and DynamoDB) → tools →
 * declarative decision → human approval by `.waitForTaskToken` callback through signed links →
 * audit trail, with progress events, retries, alarms and tracing.
 */
export class StepFunctionsAgentWorkflow extends Construct {
  /** The CloudWatch namespace of the metrics the bundled handlers publish (dimension `Workflow`). */
  public static readonly METRICS_NAMESPACE: string = AGENT_WORKFLOW_METRICS_NAMESPACE;
  /** The EventBridge `source` of the workflow's progress and approval events. */
  public static readonly EVENT_SOURCE: string = AGENT_WORKFLOW_EVENT_SOURCE;

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
  public readonly approvalsTable?: dynamodb.ITable;
  /** The HMAC key that signs approval links, when approval is configured. */
  public readonly signingSecret?: secretsmanager.ISecret;
  /** The approval endpoint, when approval is configured. */
  public readonly approvalApi?: apigw.IRestApi;
  /** The approval endpoint base URL (links are `<url>approvals/<id>?...`), when approval is configured. */
  public readonly approvalUrl?: string;
  /** The queue between the S3 events and the starter, for an S3 trigger. */
  public readonly triggerQueue?: sqs.IQueue;
  /** Dead letters of the trigger (events that could not be started after retries). */
  public readonly triggerDeadLetterQueue?: sqs.IQueue;
  /** The function that validates the input: the built-in validator, or yours (`InputValidation.lambdaFunction`). */
  public readonly validatorFunction: lambda.IFunction;
  /** The reasoner function (calls the model on the Lambda path, checkpoints on both paths). */
  public readonly reasonerFunction: lambda.IFunction;
  /** The function that starts one execution per uploaded object, for an S3 trigger. */
  public readonly starterFunction?: lambda.IFunction;
  /** The function that sends the signed approval links, when approval is configured. */
  public readonly approvalRequestFunction?: lambda.IFunction;
  /** The function behind the approval endpoint, when approval is configured. */
  public readonly approvalEndpointFunction?: lambda.IFunction;
  /** The function that publishes the pending-approval metrics, when approval is configured. */
  public readonly approvalMonitorFunction?: lambda.IFunction;
  /**
   * The same functions by role (`validator`, `reasoner`, `starter`, `approvalRequest`, `approvalEndpoint`, `approvalMonitor`,
   * `signingKeyRotation` when the signing key rotates).
   *
   * Prefer the named properties (`validatorFunction`...); this map suits code that visits every function.
   */
  public readonly functions: { [role: string]: lambda.IFunction };
  /** The alarms: failed/timed-out/throttled executions, old pending approvals, model throttles, schema violations, handler errors, dead letters. */
  public readonly alarms: cloudwatch.IAlarm[];
  /** Executions failed (the audit table holds the error of each). */
  public readonly executionsFailedAlarm: cloudwatch.IAlarm;
  /** Executions timed out. */
  public readonly executionsTimedOutAlarm: cloudwatch.IAlarm;
  /** State transitions were throttled. */
  public readonly executionsThrottledAlarm: cloudwatch.IAlarm;
  /** Bedrock throttled the model (5 or more in a period). */
  public readonly modelThrottlesAlarm: cloudwatch.IAlarm;
  /** The model answered outside the output schema. */
  public readonly schemaViolationsAlarm: cloudwatch.IAlarm;
  /** An approval has been pending longer than `pendingApprovalAlarmAge`, when approval is configured. */
  public readonly pendingApprovalAgeAlarm?: cloudwatch.IAlarm;
  /** Object Created events wait in the trigger dead-letter queue, when the trigger is an S3 upload. */
  public readonly triggerDeadLettersAlarm?: cloudwatch.IAlarm;
  /** The workflow name used in metrics and events. */
  public readonly workflowName: string;
  /** The event bus that receives progress and approval events. */
  public readonly eventBus: events.IEventBus;


  private readonly modelId: string;

  /**
   * Creates the workflow.
   * @param scope the parent construct
   * @param id the construct id
   * @param props the trigger, the reasoning step, and the options
   */
  constructor(scope: Construct, id: string, props: StepFunctionsAgentWorkflowProps) {
    super(scope, id);
    const config = resolveConfig(this, props);
    for (const w of config.warnings) Annotations.of(this).addWarningV2(w.id, w.message);
    const key = props.encryptionKey;
    const network = handlerNetwork(this, props);
    if (props.artifactAccessLogsBucket && props.artifactBucket) {
      throwPropError(this, 'artifactAccessLogsBucket', 'applies to the artifact bucket the workflow creates: remove it, or configure server access logs on your artifactBucket');
    }
    const r = config.reasoning;
    this.modelId = r.modelId;
    this.workflowName = props.workflowName ?? Names.uniqueResourceName(this, { maxLength: 64 });
    this.eventBus = props.eventBus ?? events.EventBus.fromEventBusName(this, 'DefaultBus', 'default');

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
    this.artifactBucket = props.artifactBucket
      ?? this.createArtifactBucket(key, config.artifactRetention, config.checkpointTtl, props.artifactAccessLogsBucket);

    // ---- handlers
    const handler: HandlerFactory = (type, fnId, role, options) => bundledFunction(this, fnId, type, {
      memorySize: 256,
      timeout: Duration.seconds(30),
      environment: {
        WORKFLOW_NAME: this.workflowName,
        METRICS_NAMESPACE: AGENT_WORKFLOW_METRICS_NAMESPACE,
        POWERTOOLS_SERVICE_NAME: `agent-workflow-${role.toLowerCase()}`,
        POWERTOOLS_METRICS_NAMESPACE: AGENT_WORKFLOW_METRICS_NAMESPACE,
      },
      ...options,
    }, { logGroupId: `${role}Logs`, logRetention: config.logRetention, encryptionKey: key, network }).fn;
    const functions: Record<string, lambda.IFunction> = {};
    const ownFunctions: lambda.Function[] = [];
    const rules: ValidationRules = {
      maxSizeBytes: config.maxSizeBytes,
      contentTypes: config.contentTypes,
      checkMagicBytes: config.validation.options.checkMagicBytes ?? true,
      bucket: props.trigger.bucket.bucketName,
      prefix: props.trigger.prefix,
      requiredMetadata: config.requiredMetadata,
      // An S3 location names no version: the model reads a copy of the validated version instead
      // (a later overwrite of the upload cannot change what is analysed). Built-in validator only.
      snapshotBucket: config.snapshot ? this.artifactBucket.bucketName : '',
      snapshotPrefix: SNAPSHOT_PREFIX,
      // only when set: the validator's defaults are the secure choice (no control characters, no segment read)
      ...(config.requiredKeySegments.length > 0 ? { requiredKeySegments: config.requiredKeySegments } : {}),
      ...(config.actorIdKeySegment !== undefined ? { actorIdKeySegment: config.actorIdKeySegment } : {}),
      ...(config.validation.options.allowControlCharactersInKey ? { allowControlCharactersInKey: true } : {}),
    };
    const validatorFn = config.validation.fn ?? this.createValidator(props.trigger, config, handler, ownFunctions);
    functions.validator = validatorFn;
    const reasoner = this.createReasoner(props.trigger, config, handler);
    ownFunctions.push(reasoner);
    functions.reasoner = reasoner;
    const reasoningConfig: ReasoningConfig = {
      modelId: r.modelId,
      systemPrompt: r.systemPrompt,
      prompt: r.prompt,
      outputSchema: r.outputSchema,
      structuredOutput: config.structuredOutput === StructuredOutput.JSON_SCHEMA ? 'json_schema' : 'tool_use',
      attachment: config.attachment,
      maxTokens: config.maxTokens,
      temperature: r.temperature ?? -1,
      summarizerModelId: config.checkpoint.summarizerModelId ?? '',
      memoryItems: config.memoryItems,
      toolName: DEFAULT_SCHEMA_TOOL,
      strictToolUse: r.strictToolUse ?? false,
    };

    // ---- approval
    let endpoint: ApprovalEndpoint | undefined;
    if (config.approval) {
      const auth = props.approvalEndpointAuth ?? ApprovalEndpointAuth.signedLinks();
      endpoint = new ApprovalEndpoint(this, {
        approval: config.approval,
        handler,
        auditTable: this.auditTable,
        eventBus: this.eventBus,
        eventSource: AGENT_WORKFLOW_EVENT_SOURCE,
        authorizationType: auth._type,
        userPool: auth._userPool,
        accessLogs: props.approvalEndpointAccessLogs ?? true,
        loggingLevel: props.approvalEndpointLoggingLevel ?? apigw.MethodLoggingLevel.ERROR,
        logRetention: config.logRetention,
        encryptionKey: key,
      });
      ownFunctions.push(endpoint.endpointFn, endpoint.requestFn, endpoint.monitorFn);
      functions.approvalEndpoint = endpoint.endpointFn;
      functions.approvalRequest = endpoint.requestFn;
      functions.approvalMonitor = endpoint.monitorFn;
      if (endpoint.rotationFn) {
        ownFunctions.push(endpoint.rotationFn);
        functions.signingKeyRotation = endpoint.rotationFn;
      }
      this.approvalsTable = endpoint.table;
      this.signingSecret = endpoint.secret;
      this.approvalApi = endpoint.api;
      this.approvalUrl = endpoint.api.url;
    }

    // ---- the state machine
    const context: DefinitionContext = {
      scope: this,
      workflowName: this.workflowName,
      eventBus: this.eventBus,
      eventSource: AGENT_WORKFLOW_EVENT_SOURCE,
      auditTable: this.auditTable,
      contextTable: this.contextTable,
    };
    const definition = buildDefinition(context, config, {
      validatorFn, rules, reasoner, reasoningConfig, approvalRequestFn: endpoint?.requestFn,
    });
    if (key) allowLogsToUseKey(this, key);
    this.logGroup = new logs.LogGroup(this, 'StateMachineLogs', { retention: config.logRetention, removalPolicy: RemovalPolicy.DESTROY, encryptionKey: key });
    this.stateMachine = new sfn.StateMachine(this, 'StateMachine', {
      stateMachineType: sfn.StateMachineType.STANDARD,
      definitionBody: sfn.DefinitionBody.fromChainable(definition.definition),
      tracingEnabled: true,
      timeout: props.executionTimeout ?? Duration.seconds(config.approvalSeconds + 3600),
      logs: { destination: this.logGroup, level: props.logLevel ?? sfn.LogLevel.ERROR, includeExecutionData: props.logExecutionData ?? false },
      encryptionConfiguration: key ? new sfn.CustomerManagedEncryptionConfiguration(key) : undefined,
      // With a customer key, aws-cdk-lib scopes the role's key use to the state machine's ARN, which
      // needs the name at synth time (else the condition names no state machine).
      stateMachineName: key ? Names.uniqueResourceName(this, { maxLength: 80, separator: '-' }) : undefined,
    });
    // the audit records are written by the state machine itself (DynamoDB PutItem task)
    grantTable(this.stateMachine, this.auditTable, ['dynamodb:PutItem']);
    for (const statement of definition.policyStatements) this.stateMachine.addToRolePolicy(statement);
    if (config.invocation === ReasoningInvocation.SDK_INTEGRATION && config.attach) {
      // Bedrock reads the image with the caller's (the state machine's) permissions
      if (config.snapshot) grantReadObjects(this.stateMachine, this.artifactBucket, SNAPSHOT_PREFIX);
      else grantReadObjects(this.stateMachine, props.trigger.bucket, props.trigger.prefix);
    }

    // ---- trigger (needs the state machine), approval endpoint (answers its tasks)
    const trigger = props.trigger._bind(this, { stateMachine: this.stateMachine, handler, encryptionKey: key });
    if (trigger) {
      this.triggerQueue = trigger.queue;
      this.triggerDeadLetterQueue = trigger.deadLetterQueue;
      ownFunctions.push(trigger.starter);
      functions.starter = trigger.starter;
    }
    endpoint?.bindStateMachine(this.stateMachine);

    this.functions = functions;
    this.validatorFunction = functions.validator;
    this.reasonerFunction = functions.reasoner;
    this.starterFunction = functions.starter;
    this.approvalRequestFunction = functions.approvalRequest;
    this.approvalEndpointFunction = functions.approvalEndpoint;
    this.approvalMonitorFunction = functions.approvalMonitor;
    const alarms = workflowAlarms(this, this.modelId, {
      alarmTopic: props.alarmTopic,
      pendingApprovalAlarmAge: config.approval ? (props.pendingApprovalAlarmAge ?? Duration.hours(24)) : undefined,
      functions: ownFunctions,
      triggerDeadLetterQueue: this.triggerDeadLetterQueue,
    });
    this.alarms = alarms.all;
    this.executionsFailedAlarm = alarms.executionsFailed;
    this.executionsTimedOutAlarm = alarms.executionsTimedOut;
    this.executionsThrottledAlarm = alarms.executionsThrottled;
    this.modelThrottlesAlarm = alarms.modelThrottles;
    this.schemaViolationsAlarm = alarms.schemaViolations;
    this.pendingApprovalAgeAlarm = alarms.pendingApprovalAge;
    this.triggerDeadLettersAlarm = alarms.triggerDeadLetters;
    acknowledgeWorkflowFindings(this, {
      trigger: props.trigger,
      artifactBucket: this.artifactBucket,
      snapshotPrefix: SNAPSHOT_PREFIX,
      stateMachine: this.stateMachine,
      own: ownFunctions,
      validator: validatorFn,
      reasoner,
      approvalRequest: endpoint?.requestFn,
      starter: trigger?.starter,
    });
  }

  // ------------------------------------------------------------------------------------------
  // verbs

  /**
   * Lets a principal start executions manually (input: `{ bucket, key, versionId, actorId, sessionId }`).
   * @param grantee the principal
   */
  public grantStartExecution(grantee: iam.IGrantable): iam.Grant {
    return this.stateMachine.grantStartExecution(grantee);
  }

  /**
   * Lets auditors read the audit trail (and the answer artifacts it points to).
   * @param grantee the principal
   */
  public grantReadAudit(grantee: iam.IGrantable): iam.Grant {
    this.artifactBucket.grantRead(grantee, 'artifacts/*');
    return this.auditTable.grantReadData(grantee);
  }

  /**
   * Executions that failed.
   * @param props options of the metric (period, statistic...)
   */
  public metricExecutionsFailed(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.stateMachine.metricFailed({ period: Duration.minutes(5), statistic: 'Sum', ...props });
  }

  /**
   * Executions that timed out.
   * @param props options of the metric (period, statistic...)
   */
  public metricExecutionsTimedOut(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.stateMachine.metricTimedOut({ period: Duration.minutes(5), statistic: 'Sum', ...props });
  }

  /**
   * Age of the oldest pending approval, in seconds (published every 15 minutes).
   * @param props options of the metric (period, statistic...)
   */
  public metricOldestPendingApprovalAge(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.customMetric(METRIC.oldestPendingApprovalAgeSeconds, 'Maximum', props);
  }

  /**
   * Pending approvals.
   * @param props options of the metric (period, statistic...)
   */
  public metricPendingApprovals(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.customMetric(METRIC.pendingApprovals, 'Maximum', props);
  }

  /**
   * Model input tokens (published by the reasoner / checkpoint step).
   * @param props options of the metric (period, statistic...)
   */
  public metricInputTokens(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.customMetric(METRIC.inputTokens, 'Sum', { dimensionsMap: { Workflow: this.workflowName, ModelId: this.modelId }, ...props });
  }

  /**
   * Model output tokens.
   * @param props options of the metric (period, statistic...)
   */
  public metricOutputTokens(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.customMetric(METRIC.outputTokens, 'Sum', { dimensionsMap: { Workflow: this.workflowName, ModelId: this.modelId }, ...props });
  }

  /**
   * Model answers that violated the output schema.
   * @param props options of the metric (period, statistic...)
   */
  public metricSchemaViolations(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.customMetric(METRIC.schemaViolations, 'Sum', { dimensionsMap: { Workflow: this.workflowName, ModelId: this.modelId }, ...props });
  }

  /**
   * Bedrock throttles of the model (AWS/Bedrock InvocationThrottles).
   * @param props options of the metric (period, statistic...)
   */
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
  // storage and handlers

  private createArtifactBucket(key: kms.IKey | undefined, retention: Duration, snapshotTtl: Duration, accessLogs?: s3.IBucket): s3.Bucket {
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
      serverAccessLogsBucket: accessLogs,
      serverAccessLogsPrefix: accessLogs ? `${this.workflowName}/` : undefined,
    });
    if (!accessLogs) {
      Validations.of(bucket).acknowledge({
        id: 'AwsSolutions-S1',
        reason: 'Artifacts are written only by the reasoner role and read by auditors granted grantReadAudit; access is recorded by CloudTrail data events where the account enables them. '
          + 'Pass artifactAccessLogsBucket for server access logs.',
      });
    }
    return bucket;
  }

  /** The built-in validator: reads the uploads under the trigger prefix, writes the validated copies, sends progress events. */
  private createValidator(trigger: AgentTrigger, config: ResolvedConfig, handler: HandlerFactory, own: lambda.Function[]): lambda.Function {
    const v = handler(ValidatorFunction, 'ValidatorFunction', 'Validator', { description: 'Agent workflow: validates the input object' });
    grantReadObjects(v, trigger.bucket, trigger.prefix);
    this.sendsProgress(v);
    if (config.snapshot) {
      v.addToRolePolicy(new iam.PolicyStatement({ actions: ['s3:PutObject'], resources: [this.artifactBucket.arnForObjects(`${SNAPSHOT_PREFIX}*`)] }));
      if (this.artifactBucket.encryptionKey) {
        v.addToRolePolicy(new iam.PolicyStatement({ actions: ['kms:GenerateDataKey', 'kms:Decrypt'], resources: [this.artifactBucket.encryptionKey.keyArn] }));
      }
    }
    own.push(v);
    return v;
  }

  /** The reasoner: calls Converse on the Lambda path; checkpoints, summarizes and digests on both paths. */
  private createReasoner(trigger: AgentTrigger, config: ResolvedConfig, handler: HandlerFactory): lambda.Function {
    const r = config.reasoning;
    const reasoner = handler(ReasonerFunction, 'ReasonerFunction', 'Reasoner', {
      description: 'Agent workflow: calls Bedrock Converse / checkpoints and validates the answer',
      memorySize: config.attachment === 'bytes' ? 1024 : 512,
      timeout: Duration.minutes(5),
    });
    reasoner.addEnvironment('ARTIFACT_BUCKET', this.artifactBucket.bucketName);
    reasoner.addEnvironment('ARTIFACT_PREFIX', 'artifacts/');
    reasoner.addEnvironment('CONTEXT_TABLE', this.contextTable.tableName);
    reasoner.addEnvironment('CONTEXT_TTL_SECONDS', String(config.checkpointTtl.toSeconds()));
    this.sendsProgress(reasoner);
    reasoner.addToRolePolicy(new iam.PolicyStatement({ actions: ['s3:PutObject'], resources: [this.artifactBucket.arnForObjects('artifacts/*')] }));
    if (this.artifactBucket.encryptionKey) {
      reasoner.addToRolePolicy(new iam.PolicyStatement({ actions: ['kms:GenerateDataKey', 'kms:Decrypt'], resources: [this.artifactBucket.encryptionKey.keyArn] }));
    }
    grantTable(reasoner, this.contextTable, ['dynamodb:PutItem', 'dynamodb:Query']);
    // On the SDK path the state machine calls the model; the reasoner only checkpoints (and summarizes).
    const reasonerCallsModel = config.invocation === ReasoningInvocation.LAMBDA;
    const invokeArns = [
      ...(reasonerCallsModel ? modelArns(Stack.of(this), r.modelId, r.inferenceProfileRegions) : []),
      ...(config.checkpoint.summarizerModelId ? modelArns(Stack.of(this), config.checkpoint.summarizerModelId) : []),
    ];
    if (invokeArns.length > 0) {
      reasoner.addToRolePolicy(new iam.PolicyStatement({ actions: ['bedrock:InvokeModel'], resources: [...new Set(invokeArns)] }));
    }
    if (reasonerCallsModel && config.attachment !== 'none') {
      if (config.snapshot) grantReadObjects(reasoner, this.artifactBucket, SNAPSHOT_PREFIX);
      else grantReadObjects(reasoner, trigger.bucket, trigger.prefix);
    }
    return reasoner;
  }

  /**
   * A handler of ours on the path sends the progress events of its step (runtime/progress-events.ts):
   * the bus, the source, and PutEvents on that bus only (WORKFLOW_NAME is set on every handler).
   */
  private sendsProgress(fn: lambda.Function): void {
    fn.addEnvironment('EVENT_BUS_NAME', this.eventBus.eventBusName);
    fn.addEnvironment('EVENT_SOURCE', AGENT_WORKFLOW_EVENT_SOURCE);
    this.eventBus.grantPutEventsTo(fn);
  }
}
