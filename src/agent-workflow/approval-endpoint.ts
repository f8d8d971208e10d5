import { Arn, ArnFormat, Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import * as cognito from 'aws-cdk-lib/aws-cognito';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { HumanApproval } from './approval';
import { grantTable } from './grants';
import { ApprovalEndpointFunction } from './runtime/approval-endpoint-function';
import { ApprovalMonitorFunction } from './runtime/approval-monitor-function';
import { ApprovalRequestFunction } from './runtime/approval-request-function';
import { SigningKeyRotationFunction } from './runtime/signing-key-rotation-function';
import { allowLogsToUseKey, BundledFunctionClass } from '../core/functions';
import { handlerDeadLetterQueue } from '../core/handlers';
import { nagArn } from '../core/nag';

/**
 * Creates one of the workflow's bundled handlers (core/functions.ts) with the workflow's defaults for
 * its role (log group `<role>Logs`, memory, timeout, env); `options` are the function's own settings.
 * @internal
 */
export type HandlerFactory = <F extends lambda.Function>(
  type: BundledFunctionClass<F>, id: string, role: string, options: lambda.FunctionOptions,
) => F;

/** The approval API's one stage (links name it). */
const STAGE_NAME = 'v1';

/** What the approval endpoint needs from the workflow. @internal */
export interface ApprovalEndpointOptions {
  readonly approval: HumanApproval;
  readonly handler: HandlerFactory;
  readonly auditTable: dynamodb.ITable;
  readonly eventBus: events.IEventBus;
  readonly eventSource: string;
  readonly authorizationType: apigw.AuthorizationType;
  readonly userPool?: cognito.IUserPool;
  readonly accessLogs: boolean;
  /** Execution logging of the stage (OFF: none). */
  readonly loggingLevel: apigw.MethodLoggingLevel;
  readonly logRetention: logs.RetentionDays;
  readonly encryptionKey?: kms.IKey;
}

/**
 * Rotation of the link-signing key on the schedule `signingKeyRotation` gives (validated in
 * resolved-config.ts): a rotation function of ours that may touch only this secret, invoked by
 * Secrets Manager of this account for this secret only, and a rotation schedule that does not
 * rotate at deployment. Without a schedule, the cdk-nag finding is acknowledged with the reason.
 */
function signingKeyRotation(scope: Construct, o: ApprovalEndpointOptions, secret: secretsmanager.Secret): lambda.Function | undefined {
  const interval = o.approval.options.signingKeyRotation;
  if (!interval) {
    Validations.of(secret).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason: 'Automatic rotation of the link-signing key is off (HumanApprovalOptions.signingKeyRotation not set). Links name their key and '
        + 'the previous key stays valid, so a rotation by hand (PutSecretValue) breaks no pending approval if done at most once per longest approval wait.',
    });
    return undefined;
  }
  const stack = Stack.of(scope);
  const fn = o.handler(SigningKeyRotationFunction, 'SigningKeyRotationFunction', 'SigningKeyRotation', {
    description: 'Agent workflow: rotates the approval link-signing key',
  });
  fn.addEnvironment('SIGNING_SECRET_ARN', secret.secretArn);
  // aws-cdk-lib's RotationSchedule would also grant secretsmanager:GetRandomPassword on * (the key is drawn by the
  // function) and let Secrets Manager invoke the function for any secret: both narrower here
  fn.addToRolePolicy(new iam.PolicyStatement({
    actions: ['secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue', 'secretsmanager:PutSecretValue', 'secretsmanager:UpdateSecretVersionStage'],
    resources: [secret.secretArn],
  }));
  if (o.encryptionKey) {
    fn.addToRolePolicy(new iam.PolicyStatement({
      actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
      resources: [o.encryptionKey.keyArn],
      conditions: {
        StringEquals: { 'kms:ViaService': `secretsmanager.${stack.region}.${stack.urlSuffix}`, 'kms:EncryptionContext:SecretARN': secret.secretArn },
      },
    }));
  }
  fn.addPermission('InvokedBySecretsManager', {
    principal: new iam.ServicePrincipal('secretsmanager.amazonaws.com'),
    sourceAccount: stack.account,
    sourceArn: secret.secretArn,
  });
  const schedule = new secretsmanager.CfnRotationSchedule(scope, 'SigningSecretRotationSchedule', {
    secretId: secret.secretArn,
    rotationLambdaArn: fn.functionArn,
    rotationRules: { scheduleExpression: `rate(${interval.toDays()} days)` },
    // a deployment that creates or changes the schedule does not rotate: two quick deployments would otherwise
    // retire the key of pending approvals
    rotateImmediatelyOnUpdate: false,
  });
  // Secrets Manager checks that it may invoke the function, and runs its testSecret step, when the schedule is set
  schedule.node.addDependency(fn.permissionsNode.findChild('InvokedBySecretsManager'));
  if (fn.role) schedule.node.addDependency(fn.role);
  // its cdk-nag acknowledgements (X-Ray, synchronous invocation) are the workflow's, as for every function of its own
  return fn;
}

/**
 * The human-approval subsystem: the approvals table (task tokens by opaque id), the link-signing
 * secret, the API (GET/POST /approvals/{id}) with its endpoint function, the request function the
 * state machine calls with `.waitForTaskToken`, and the monitor that publishes pending approvals
 * every 15 minutes; with their cdk-nag acknowledgements.
 *
 * Not a construct of its own: the resources are created in the workflow's scope with the ids they
 * always had, so their logical ids (approvals table, secret) never change.
 * @internal
 */
export class ApprovalEndpoint {
  public readonly table: dynamodb.Table;
  public readonly secret: secretsmanager.Secret;
  public readonly api: apigw.RestApi;
  /** The confirm page and decisions behind the API. */
  public readonly endpointFn: lambda.Function;
  /** Stores the task token and notifies approvers (`.waitForTaskToken`). */
  public readonly requestFn: lambda.Function;
  /** Publishes the pending-approval count and age. */
  public readonly monitorFn: lambda.Function;
  /** Rotates the link-signing key (HumanApprovalOptions.signingKeyRotation set). */
  public readonly rotationFn?: lambda.Function;

  constructor(scope: Construct, o: ApprovalEndpointOptions) {
    const key = o.encryptionKey;
    const escalation = o.approval.options.onTimeout?.escalationTopic;
    const table = new dynamodb.Table(scope, 'ApprovalsTable', {
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
    const secret = new secretsmanager.Secret(scope, 'SigningSecret', {
      description: 'HMAC key that signs approval links',
      encryptionKey: key,
      generateSecretString: { passwordLength: 64, excludePunctuation: true },
    });
    this.rotationFn = signingKeyRotation(scope, o, secret);

    // endpoint
    const endpoint = o.handler(ApprovalEndpointFunction, 'ApprovalEndpointFunction', 'ApprovalEndpoint', {
      description: 'Agent workflow: approval confirm page and decisions',
    });
    endpoint.addEnvironment('APPROVALS_TABLE', table.tableName);
    endpoint.addEnvironment('AUDIT_TABLE', o.auditTable.tableName);
    endpoint.addEnvironment('SIGNING_SECRET_ARN', secret.secretArn);
    endpoint.addEnvironment('EVENT_BUS_NAME', o.eventBus.eventBusName);
    endpoint.addEnvironment('EVENT_SOURCE', o.eventSource);
    grantTable(endpoint, table, ['dynamodb:GetItem', 'dynamodb:UpdateItem']);
    grantTable(endpoint, o.auditTable, ['dynamodb:PutItem']);
    secret.grantRead(endpoint);
    o.eventBus.grantPutEventsTo(endpoint);

    // With the workflow's key, both log groups are encrypted with it (and the key lets CloudWatch Logs use it).
    if (key && (o.accessLogs || o.loggingLevel !== apigw.MethodLoggingLevel.OFF)) allowLogsToUseKey(scope, key);
    const accessLogGroup = o.accessLogs ? new logs.LogGroup(scope, 'ApprovalApiAccessLogs', {
      retention: o.logRetention, removalPolicy: RemovalPolicy.DESTROY, encryptionKey: key,
    }) : undefined;
    const executionLogging = o.loggingLevel !== apigw.MethodLoggingLevel.OFF;
    const api = new apigw.RestApi(scope, 'ApprovalApi', {
      description: 'Agent workflow approvals',
      endpointTypes: [apigw.EndpointType.REGIONAL],
      cloudWatchRole: false,
      deployOptions: {
        stageName: STAGE_NAME,
        throttlingRateLimit: 10,
        throttlingBurstLimit: 20,
        tracingEnabled: true,
        accessLogDestination: accessLogGroup ? new apigw.LogGroupLogDestination(accessLogGroup) : undefined,
        accessLogFormat: accessLogGroup ? apigw.AccessLogFormat.jsonWithStandardFields() : undefined,
        // Execution logging for every method (CT.APIGATEWAY.PR.1); never the request and response data,
        // which may hold personal data.
        loggingLevel: executionLogging ? o.loggingLevel : undefined,
        dataTraceEnabled: false,
      },
    });
    if (executionLogging) {
      // API Gateway writes execution logs to this log group, creating it (unencrypted, never expiring) unless it
      // exists: created here first, with the workflow's retention and key.
      const executionLogGroup = new logs.LogGroup(scope, 'ApprovalApiExecutionLogs', {
        logGroupName: `API-Gateway-Execution-Logs_${api.restApiId}/${STAGE_NAME}`,
        retention: o.logRetention,
        removalPolicy: RemovalPolicy.DESTROY,
        encryptionKey: key,
      });
      api.deploymentStage.node.addDependency(executionLogGroup);
    }
    const authorizer = o.userPool ? new apigw.CognitoUserPoolsAuthorizer(scope, 'ApprovalAuthorizer', { cognitoUserPools: [o.userPool] }) : undefined;
    const methodOptions: apigw.MethodOptions = {
      authorizationType: o.authorizationType,
      authorizer,
      requestValidator: new apigw.RequestValidator(scope, 'ApprovalRequestValidator', { restApi: api, validateRequestParameters: true, validateRequestBody: true }),
      requestParameters: { 'method.request.path.id': true },
    };
    // No test-invoke permissions (the console's test button is not part of the approval flow).
    const integration = new apigw.LambdaIntegration(endpoint, { allowTestInvoke: false });
    const resource = api.root.addResource('approvals').addResource('{id}');
    for (const method of [resource.addMethod('GET', integration, methodOptions), resource.addMethod('POST', integration, methodOptions)]) {
      // aws-cdk-lib scopes each permission to the method's ARN (an Fn::Join, which the template check of
      // CT.LAMBDA.PR.2 cannot read); the source account states the same limit in a form it reads.
      for (const permission of method.node.children) {
        if (permission instanceof lambda.CfnPermission) permission.sourceAccount = Stack.of(scope).account;
      }
    }

    // request (waitForTaskToken)
    const request = o.handler(ApprovalRequestFunction, 'ApprovalRequestFunction', 'ApprovalRequest', {
      description: 'Agent workflow: stores the task token and notifies approvers',
    });
    request.addEnvironment('APPROVALS_TABLE', table.tableName);
    request.addEnvironment('SIGNING_SECRET_ARN', secret.secretArn);
    // The URL is built from the API id, not from the stage: the stage depends on the endpoint function,
    // whose policy names the state machine, which invokes this function (a cycle otherwise).
    request.addEnvironment('ENDPOINT_URL', `https://${api.restApiId}.execute-api.${Stack.of(scope).region}.${Stack.of(scope).urlSuffix}/${STAGE_NAME}/`);
    request.addEnvironment('PRIMARY_TOPIC_ARN', o.approval.topic.topicArn);
    request.addEnvironment('ESCALATION_TOPIC_ARN', escalation?.topicArn ?? '');
    request.addEnvironment('EVENT_BUS_NAME', o.eventBus.eventBusName);
    request.addEnvironment('EVENT_SOURCE', o.eventSource);
    grantTable(request, table, ['dynamodb:PutItem', 'dynamodb:GetItem', 'dynamodb:UpdateItem']);
    secret.grantRead(request);
    o.approval.topic.grantPublish(request);
    escalation?.grantPublish(request);
    o.eventBus.grantPutEventsTo(request);

    // monitor
    const monitor = o.handler(ApprovalMonitorFunction, 'ApprovalMonitorFunction', 'ApprovalMonitor', {
      description: 'Agent workflow: publishes pending-approval count and age',
    });
    monitor.addEnvironment('APPROVALS_TABLE', table.tableName);
    grantTable(monitor, table, ['dynamodb:Query'], 'byStatus');
    const monitorDlq = handlerDeadLetterQueue(scope, 'ApprovalMonitorDeadLetterQueue', 'the approval monitor schedule', key);
    new events.Rule(scope, 'ApprovalMonitorSchedule', {
      schedule: events.Schedule.rate(Duration.minutes(15)),
      targets: [new targets.LambdaFunction(monitor, { deadLetterQueue: monitorDlq, retryAttempts: 2 })],
    });

    this.table = table;
    this.secret = secret;
    this.api = api;
    this.endpointFn = endpoint;
    this.requestFn = request;
    this.monitorFn = monitor;
    this.acknowledgeNag(o);
  }

  /**
   * The approval endpoint completes the state machine's approval tasks (SendTaskSuccess/Failure/Heartbeat)
   * and, when Step Functions answers one of them with an error, reads the execution's history and
   * status to tell whether the decision was applied (GetExecutionHistory, DescribeExecution on this
   * state machine's executions only).
   */
  public bindStateMachine(stateMachine: sfn.IStateMachine): void {
    stateMachine.grantTaskResponse(this.endpointFn);
    stateMachine.grantExecution(this.endpointFn, 'states:GetExecutionHistory', 'states:DescribeExecution');
    // the ARN aws-cdk-lib's grantExecution names (every execution of this state machine)
    const executions = Stack.of(stateMachine).formatArn({
      service: 'states',
      resource: 'execution',
      resourceName: Arn.split(stateMachine.stateMachineArn, ArnFormat.COLON_RESOURCE_NAME).resourceName,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
    Validations.of(this.endpointFn).acknowledge({
      id: `AwsSolutions-IAM5[Resource::${nagArn(this.endpointFn, `${executions}:*`)}]`,
      reason: 'GetExecutionHistory/DescribeExecution on the executions of this state machine only (any of them may wait for an approval), '
        + 'read when Step Functions answers a decision with an error, to tell whether it was applied.',
    });
  }

  private acknowledgeNag(o: ApprovalEndpointOptions): void {
    const reasons: Record<string, string> = {
      'AwsSolutions-APIG3': 'Two routes, throttled to 10 rps per stage; every request needs an HMAC-signed, expiring link checked before any read or write. Attach a WAF web ACL to the stage if your policy requires one.',
      ...(o.loggingLevel === apigw.MethodLoggingLevel.OFF ? {
        'AwsSolutions-APIG6': 'Execution logging is off (approvalEndpointLoggingLevel: OFF, for an account without the API Gateway CloudWatch role); '
          + 'access logs and the handler\'s structured logs record every request.',
      } : {}),
      'AwsSolutions-COG4': o.userPool ? 'A Cognito authorizer is attached.' : 'Approvers authenticate with HMAC-signed, expiring, single-use links (or IAM/Cognito when approvalEndpointAuth says so).',
      'AwsSolutions-APIG4': o.authorizationType === apigw.AuthorizationType.NONE
        ? 'Authorization is the HMAC-signed, expiring, single-use link, verified by the handler before anything is read or changed.'
        : 'IAM or Cognito authorization is configured.',
      'AwsSolutions-APIG1': o.accessLogs ? 'Access logs are enabled.' : 'Access logs disabled by approvalEndpointAccessLogs: false.',
    };
    for (const [id, reason] of Object.entries(reasons)) Validations.of(this.api).acknowledge({ id, reason });
    Validations.of(this.requestFn).acknowledge({
      id: 'AwsSolutions-IAM5[Action::kms:GenerateDataKey*]',
      reason: 'aws-cdk-lib\'s grant to publish to a KMS-encrypted approval topic; scoped to that topic\'s key.',
    });
  }
}
