/**
 * Example: the insurance-claim processor of "Stop Building Chatbots: The Case for
 * Infrastructure-Driven AI Agents", end to end.
 *
 * A photo of car damage uploaded as `claims/<policyId>/<file>` starts an execution: the image is
 * validated (JPEG/PNG, at most 5 MiB, magic bytes, no control characters in the key), Amazon Nova Pro reads it
 * from S3 and answers {damage_type, estimated_cost, severity_score, confidence_score, summary}, the
 * customer's policy limits are read from DynamoDB, and a Choice decides: auto-approve, or pause for an
 * adjuster (SNS e-mail with signed approve/reject links; escalation to team leads after 2 days).
 * Everything is recorded in the audit table.
 *
 * The template passes the AWS Control Tower proactive controls except those acknowledged, with the
 * reasons, in ./control-tower.ts.
 */
import { App, AppProps, CfnOutput, CfnParameter, Duration, RemovalPolicy, Size, Stack, StackProps, Validations } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import {
  AgentField, AgentReasoning, AgentTool, AgentTrigger, ApprovalPolicy, ApprovalTimeout, DecisionCondition,
  DynamoProjection, HumanApproval, InputValidation, LogicalIdGuard, StepFunctionsAgentWorkflow,
} from '../../src';
import { limitGrantsToAwsServices } from '../shared/compliance';
import { exampleContext, exampleEnv } from '../shared/example-env';

/** The structured answer the model must give. */
export const CLAIM_SCHEMA = {
  type: 'object',
  properties: {
    damage_type: { type: 'string', enum: ['scratch', 'dent', 'broken_glass', 'structural', 'total_loss', 'none', 'unclear'] },
    estimated_cost: { type: 'number', minimum: 0, maximum: 1000000 },
    severity_score: { type: 'integer', minimum: 1, maximum: 5 },
    confidence_score: { type: 'number', minimum: 0, maximum: 1 },
    summary: { type: 'string', maxLength: 2000 },
    damaged_parts: { type: 'array', items: { type: 'string' }, maxItems: 50 },
  },
  required: ['damage_type', 'estimated_cost', 'severity_score', 'confidence_score'],
  additionalProperties: false,
};

export class InsuranceClaimsStack extends Stack {
  public readonly workflow: StepFunctionsAgentWorkflow;

  constructor(scope: Construct, id: string, props?: StackProps) {
    super(scope, id, props);
    const adjusterEmail = new CfnParameter(this, 'AdjusterEmail', { type: 'String', description: 'E-mail address of the claims adjusters', default: 'adjusters@example.com' });

    const key = new kms.Key(this, 'ClaimsKey', { enableKeyRotation: true, description: 'Claims data encryption' });
    // CloudWatch alarms publish to the encrypted topic; SNS moves undeliverable e-mails to the encrypted DLQ
    key.grant(new iam.ServicePrincipal('cloudwatch.amazonaws.com'), 'kms:Decrypt', 'kms:GenerateDataKey');
    key.grant(new iam.ServicePrincipal('sns.amazonaws.com'), 'kms:Decrypt', 'kms:GenerateDataKey');
    limitGrantsToAwsServices(key);

    const accessLogs = new s3.Bucket(this, 'AccessLogs', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      removalPolicy: RemovalPolicy.RETAIN,
      versioned: true,
      lifecycleRules: [{ expiration: Duration.days(365), noncurrentVersionExpiration: Duration.days(30) }],
    });
    Validations.of(accessLogs).acknowledge({
      id: 'AwsSolutions-S1',
      reason: 'This bucket receives the server access logs of the claims and artifact buckets; logging it into itself would loop.',
    });
    const claims = new s3.Bucket(this, 'ClaimUploads', {
      encryption: s3.BucketEncryption.KMS,
      encryptionKey: key,
      bucketKeyEnabled: true,
      enforceSSL: true,
      versioned: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      removalPolicy: RemovalPolicy.RETAIN,
      serverAccessLogsBucket: accessLogs,
      // Claim photos are evidence: current versions stay; overwritten or deleted ones go after 90 days.
      lifecycleRules: [{ noncurrentVersionExpiration: Duration.days(90), abortIncompleteMultipartUploadAfter: Duration.days(7) }],
    });

    const policies = new dynamodb.Table(this, 'Policies', {
      partitionKey: { name: 'policyId', type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      encryption: dynamodb.TableEncryption.CUSTOMER_MANAGED,
      encryptionKey: key,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
    });

    const adjusters = new sns.Topic(this, 'Adjusters', { masterKey: key, enforceSSL: true });
    const undeliverable = new sqs.Queue(this, 'UndeliverableApprovals', {
      encryptionMasterKey: key,
      encryption: sqs.QueueEncryption.KMS,
      enforceSSL: true,
      // Marks it as a dead-letter queue (CT.SQS.PR.1): SQS's default made explicit. It governs only which
      // queues may name this one as their DLQ; SNS delivers its dead letters with sqs:SendMessage.
      redriveAllowPolicy: { redrivePermission: sqs.RedrivePermission.ALLOW_ALL },
    });
    Validations.of(undeliverable).acknowledge({ id: 'AwsSolutions-SQS3', reason: 'This queue is the dead-letter queue of the adjusters\' e-mail subscription.' });
    Validations.of(undeliverable).acknowledge({ id: 'Serverless-SQSRedrivePolicy', reason: 'This queue is the dead-letter queue of the adjusters\' e-mail subscription.' });
    adjusters.addSubscription(new subscriptions.EmailSubscription(adjusterEmail.valueAsString, { deadLetterQueue: undeliverable }));
    const teamLeads = new sns.Topic(this, 'TeamLeads', { masterKey: key, enforceSSL: true });
    const alarms = new sns.Topic(this, 'Alarms', { masterKey: key, enforceSSL: true });

    // Trust boundary: the policy a claim is checked against, and whose memory the model reads and
    // writes, come from the key, `claims/<policyId>/<file>` (key segment 1), never from S3 metadata:
    // metadata is whatever the uploader sends, while the key prefix is restricted per uploader by IAM.
    // The customer app's upload role allows only the customer's own folder, e.g. (policyId: a principal
    // tag that your identity provider sets, such as a Cognito identity pool's tag mapping, never the customer):
    //   { "Effect": "Allow", "Action": "s3:PutObject",
    //     "Resource": "arn:aws:s3:::<UploadBucket>/claims/${aws:PrincipalTag/policyId}/*" }
    // (plus kms:GenerateDataKey on ClaimsKey). With it, a customer cannot file a claim against another
    // policy, nor read or write another policyholder's memory.
    const policySegment = AgentField.keySegment(1);
    this.workflow = new StepFunctionsAgentWorkflow(this, 'Claims', {
      workflowName: 'insurance-claims',
      trigger: AgentTrigger.s3ObjectCreated(claims, { prefix: 'claims/' }),
      validation: InputValidation.s3Object({
        maxSize: Size.mebibytes(5),
        contentTypes: ['image/jpeg', 'image/png'],
        // the policy lookup reads segment 1: a key without that folder is invalid input (REJECTED_INVALID)
        requiredKeySegments: [1],
        // the memory actor is the policyholder (the policy folder), not the `actor-id` metadata
        actorIdKeySegment: 1,
      }),
      reasoning: AgentReasoning.bedrockConverse({
        modelId: 'us.amazon.nova-pro-v1:0',
        systemPrompt: 'You are a motor-insurance claims assessor. Assess only what the photo shows. Never invent damage.',
        prompt: 'Assess the vehicle damage in the attached photo (claim {{key}}). '
          + 'Estimate the repair cost in USD, a severity score 1-5 and your confidence 0-1.',
        outputSchema: CLAIM_SCHEMA,
        maxTokens: 1500,
        temperature: 0,
      }),
      tools: [
        AgentTool.dynamoDbGetItem('policy', policies, {
          key: { policyId: tasks.DynamoAttributeValue.fromString(sfn.JsonPath.stringAt(policySegment.jsonPath)) },
          attributes: {
            autoApproveLimit: DynamoProjection.numberAttribute('autoApproveLimit'),
            coverageLimit: DynamoProjection.numberAttribute('coverageLimit'),
            status: DynamoProjection.stringAttribute('status'),
          },
        }),
      ],
      approval: ApprovalPolicy.when([
        DecisionCondition.greaterThanField(AgentField.output('estimated_cost'), AgentField.tool('policy', 'autoApproveLimit')),
        DecisionCondition.lessThan(AgentField.output('confidence_score'), 0.8),
        DecisionCondition.greaterThanOrEqual(AgentField.output('severity_score'), 4),
      ], HumanApproval.notify(adjusters, {
        timeout: Duration.days(2),
        onTimeout: ApprovalTimeout.escalate(teamLeads, Duration.days(1)),
        // a new link-signing key every 30 days; links mailed before a rotation keep working until they expire
        signingKeyRotation: Duration.days(30),
      }), {
        rejectWhen: [
          DecisionCondition.greaterThanField(AgentField.output('estimated_cost'), AgentField.tool('policy', 'coverageLimit')),
          DecisionCondition.stringEquals(AgentField.tool('policy', 'status'), 'LAPSED'),
        ],
      }),
      checkpoint: { summarizerModelId: 'us.amazon.nova-micro-v1:0', ttl: Duration.days(30) },
      encryptionKey: key,
      artifactAccessLogsBucket: accessLogs,
      alarmTopic: alarms,
    });

    new CfnOutput(this, 'UploadBucket', { value: claims.bucketName });
    new CfnOutput(this, 'ApprovalUrl', { value: this.workflow.approvalUrl! });
    new CfnOutput(this, 'StateMachineArn', { value: this.workflow.stateMachine.stateMachineArn });
  }
}

export function createApp(props?: AppProps): App {
  const app = new App({ ...props, context: { ...exampleContext(), ...props?.context } });
  new InsuranceClaimsStack(app, 'InsuranceClaims', { env: exampleEnv() });
  LogicalIdGuard.of(app, { lockFile: `${__dirname}/logical-ids.lock.json` }); // fails synth when a stateful resource would be replaced
  return app;
}

if (require.main === module) {
  createApp().synth();
}
