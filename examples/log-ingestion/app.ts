/**
 * Example: the steady 24/7 log ingestion of "Would Lambda Managed instance reduce your cost?", on
 * Lambda Managed Instances.
 *
 * Producers send log lines (JSON) to the `LogLines` SQS queue. The `Ingest` function reads them in
 * batches through an event source mapping on its `live` alias and writes each line to the
 * `LogEvents` DynamoDB table (partitioned by source and hour, expiring after 30 days). A line that
 * is not valid JSON, or lacks a source, is reported as a batch item failure: after five receives it
 * lands in `LogLinesDeadLetters`, where an alarm sees it.
 *
 * The function runs on `IngestPool`, a capacity provider of Graviton compute-optimized instances
 * (c7g.large and c7g.xlarge, the article's instance family) in the VPC's private subnets, behind a
 * security group with no inbound rule and HTTPS egress only. Three execution environments of one
 * vCPU stay running (minExecutionEnvironments: the lever for latency on Managed Instances); up to
 * eight run under load, which the pool's 16 vCPU ceiling holds with room for a deploy. Every deploy
 * publishes a version and moves the alias; the stack's VersionPruner keeps the newest five (a
 * capacity provider holds at most 100 function versions).
 *
 * `simulate.ts` runs the function's own code against a local DynamoDB with real log lines, and
 * prints the cost comparison of standard Lambda and Managed Instances for a few traffic levels
 * (`ManagedInstanceCostModel`). The README shows the numbers for the article's workload.
 *
 * The template passes the AWS Control Tower proactive controls except those acknowledged, with the
 * reasons, in ./control-tower.ts.
 */
import { App, AppProps, CfnOutput, Duration, RemovalPolicy, Stack, StackProps, Validations } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as lambdaEventSources from 'aws-cdk-lib/aws-lambda-event-sources';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { LogicalIdGuard, ManagedCapacityPool, ManagedInstanceLambda, VersionPruner } from '../../src';
import { allowLogGroupsToUseKey, limitGrantsToAwsServices } from '../shared/compliance';
import { exampleContext, exampleEnv } from '../shared/example-env';

/** Days a log line is kept in the table (DynamoDB TTL on `expiresAt`). */
export const RETENTION_DAYS = 30;

/**
 * The ingest function (Node.js 24, inline). Managed Instances run up to `maxConcurrencyPerEnvironment`
 * invocations at once in one Node.js process: the code keeps no per-request state in module scope.
 * Each SQS record is one log line; lines are written with BatchWriteItem (25 per call), unprocessed
 * items retried with backoff; a malformed line, or a line whose write still fails, is reported as a
 * batch item failure (SQS redelivers it; after five receives it goes to the dead-letter queue). The
 * item key comes from the line and the SQS message id, so a redelivered line overwrites itself.
 * The warmer's marker payload (`source: cdk-production-patterns.warmer`) is answered at once.
 */
export const INGEST_CODE = `
const { DynamoDBClient, BatchWriteItemCommand } = require('@aws-sdk/client-dynamodb');
const ddb = new DynamoDBClient({});
const TABLE = process.env.TABLE_NAME;
const RETENTION_SECONDS = Number(process.env.RETENTION_DAYS) * 86400;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function toItem(record) {
  let line;
  try { line = JSON.parse(record.body); } catch (err) { return { error: 'not JSON' }; }
  if (!line || typeof line !== 'object' || typeof line.source !== 'string' || !line.source) return { error: 'no source' };
  const at = new Date(typeof line.timestamp === 'string' || typeof line.timestamp === 'number' ? line.timestamp : Number(record.attributes && record.attributes.SentTimestamp));
  if (Number.isNaN(at.getTime())) return { error: 'bad timestamp' };
  const iso = at.toISOString();
  return {
    item: {
      pk: { S: line.source + '#' + iso.slice(0, 13) },
      sk: { S: iso + '#' + record.messageId },
      level: { S: String(line.level || 'INFO').toUpperCase() },
      message: { S: String(line.message === undefined ? '' : line.message).slice(0, 16384) },
      expiresAt: { N: String(Math.floor(at.getTime() / 1000) + RETENTION_SECONDS) },
    },
  };
}

async function writeAll(entries) {
  // entries: [{ messageId, item }]; returns the message ids whose write did not go through
  const failed = [];
  for (let i = 0; i < entries.length; i += 25) {
    let batch = entries.slice(i, i + 25);
    for (let attempt = 0; batch.length > 0; attempt++) {
      if (attempt === 5) { failed.push(...batch.map((e) => e.messageId)); break; }
      if (attempt > 0) await sleep(50 * 2 ** attempt);
      const out = await ddb.send(new BatchWriteItemCommand({ RequestItems: { [TABLE]: batch.map((e) => ({ PutRequest: { Item: e.item } })) } }));
      const left = (out.UnprocessedItems && out.UnprocessedItems[TABLE]) || [];
      batch = batch.filter((e) => left.some((u) => u.PutRequest.Item.sk.S === e.item.sk.S));
    }
  }
  return failed;
}

exports.handler = async (event) => {
  if (event && event.source === 'cdk-production-patterns.warmer') return { warmed: true };
  const batchItemFailures = [];
  const entries = [];
  for (const record of event.Records) {
    const out = toItem(record);
    if (out.error) {
      console.error(JSON.stringify({ level: 'ERROR', message: 'malformed log line', reason: out.error, messageId: record.messageId }));
      batchItemFailures.push({ itemIdentifier: record.messageId });
    } else {
      entries.push({ messageId: record.messageId, item: out.item });
    }
  }
  const failed = await writeAll(entries);
  for (const messageId of failed) batchItemFailures.push({ itemIdentifier: messageId });
  console.log(JSON.stringify({ level: 'INFO', message: 'batch ingested', received: event.Records.length, written: entries.length - failed.length, failed: batchItemFailures.length }));
  return { batchItemFailures };
};
`;

export class LogIngestionStack extends Stack {
  public readonly queue: sqs.Queue;
  public readonly deadLetters: sqs.Queue;
  public readonly table: dynamodb.Table;
  public readonly pool: ManagedCapacityPool;
  public readonly ingest: ManagedInstanceLambda;
  public readonly pruner: VersionPruner;

  constructor(scope: Construct, id: string, props?: StackProps) {
    super(scope, id, props);
    const key = new kms.Key(this, 'LogsKey', { enableKeyRotation: true, description: 'Log ingestion: queue, table, logs, volumes' });
    limitGrantsToAwsServices(key);
    allowLogGroupsToUseKey(key);
    const alarms = new sns.Topic(this, 'Alarms', { masterKey: key, enforceSSL: true });

    const vpc = new ec2.Vpc(this, 'Vpc', {
      maxAzs: 3,
      natGateways: 1,
      subnetConfiguration: [
        { name: 'Public', subnetType: ec2.SubnetType.PUBLIC, mapPublicIpOnLaunch: false },
        { name: 'Private', subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
      ],
    });
    vpc.addFlowLog('FlowLog', {
      destination: ec2.FlowLogDestination.toCloudWatchLogs(new logs.LogGroup(this, 'FlowLogs', {
        retention: logs.RetentionDays.ONE_YEAR, encryptionKey: key, removalPolicy: RemovalPolicy.DESTROY,
      })),
    });

    this.deadLetters = new sqs.Queue(this, 'LogLinesDeadLetters', {
      encryption: sqs.QueueEncryption.KMS,
      encryptionMasterKey: key,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
      redriveAllowPolicy: { redrivePermission: sqs.RedrivePermission.ALLOW_ALL },
    });
    Validations.of(this.deadLetters).acknowledge({ id: 'AwsSolutions-SQS3', reason: 'This queue is the dead-letter queue of LogLines.' });
    Validations.of(this.deadLetters).acknowledge({ id: 'Serverless-SQSRedrivePolicy', reason: 'This queue is the dead-letter queue of LogLines.' });
    this.queue = new sqs.Queue(this, 'LogLines', {
      encryption: sqs.QueueEncryption.KMS,
      encryptionMasterKey: key,
      enforceSSL: true,
      // six times the function's timeout, as Lambda's SQS guide advises
      visibilityTimeout: Duration.minutes(3),
      retentionPeriod: Duration.days(4),
      deadLetterQueue: { queue: this.deadLetters, maxReceiveCount: 5 },
    });

    this.table = new dynamodb.Table(this, 'LogEvents', {
      partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING },
      sortKey: { name: 'sk', type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      timeToLiveAttribute: 'expiresAt',
      encryption: dynamodb.TableEncryption.CUSTOMER_MANAGED,
      encryptionKey: key,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      deletionProtection: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });

    this.pool = new ManagedCapacityPool(this, 'IngestPool', {
      vpc,
      maxVCpu: 16,
      instanceTypes: [new ec2.InstanceType('c7g.large'), new ec2.InstanceType('c7g.xlarge')],
      encryptionKey: key,
      alarmTopic: alarms,
    });
    // The stack's pruner, configured before the first function: alarms to the topic, logs and dead letters
    // with the key, its handler in the private subnets (it calls the Lambda API through the NAT gateway).
    this.pruner = VersionPruner.of(this, { versionsToKeep: 5, alarmTopic: alarms, encryptionKey: key, handlerVpc: vpc });

    this.ingest = new ManagedInstanceLambda(this, 'Ingest', {
      pool: this.pool,
      runtime: lambda.Runtime.NODEJS_24_X,
      handler: 'index.handler',
      code: lambda.Code.fromInline(INGEST_CODE),
      description: 'Writes log lines from the LogLines queue to the LogEvents table',
      timeout: Duration.seconds(30),
      memorySize: 2048,
      memoryGiBPerVCpu: 2,
      // I/O bound (DynamoDB writes): 32 batches at once in one Node.js process per environment.
      maxConcurrencyPerEnvironment: 32,
      minExecutionEnvironments: 3,
      maxExecutionEnvironments: 8,
      aliasName: 'live',
      environment: { TABLE_NAME: this.table.tableName, RETENTION_DAYS: String(RETENTION_DAYS) },
      encryptionKey: key,
      alarmTopic: alarms,
    });
    this.table.grant(this.ingest, 'dynamodb:BatchWriteItem', 'dynamodb:PutItem');
    key.grant(this.ingest, 'kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey');
    Validations.of(this.ingest.lambdaFunction).acknowledge({
      id: 'Serverless-LambdaDLQ',
      reason: 'Invoked only by the SQS event source mapping (synchronously): failed lines go to the queue\'s own dead-letter queue.',
    });
    const lines = new lambdaEventSources.SqsEventSource(this.queue, {
      batchSize: 100,
      maxBatchingWindow: Duration.seconds(5),
      reportBatchItemFailures: true,
    });
    this.ingest.alias.addEventSource(lines);
    Validations.of(this.ingest.alias).acknowledge({
      id: 'Serverless-LambdaEventSourceMappingDestination',
      reason: 'An SQS event source takes no on-failure destination (Lambda supports one for stream and Kafka sources): lines that fail '
        + 'five times go to the queue\'s redrive target, LogLinesDeadLetters, which has an alarm.',
    });

    const deadLetterAlarm = this.deadLetters.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(1), statistic: 'Maximum' })
      .createAlarm(this, 'DeadLettersAlarm', {
        threshold: 1,
        evaluationPeriods: 1,
        alarmDescription: 'Log lines could not be ingested five times and wait in LogLinesDeadLetters: read the Ingest function\'s log '
          + 'group (malformed lines are logged with their message id), fix, then redrive.',
      });
    deadLetterAlarm.addAlarmAction({ bind: () => ({ alarmActionArn: alarms.topicArn }) });

    new CfnOutput(this, 'QueueUrl', { value: this.queue.queueUrl });
    new CfnOutput(this, 'TableName', { value: this.table.tableName });
    new CfnOutput(this, 'AliasArn', { value: this.ingest.alias.functionArn });
    new CfnOutput(this, 'CapacityProviderArn', { value: this.pool.capacityProvider.capacityProviderArn });
  }
}

export function createApp(props?: AppProps): App {
  const app = new App({ ...props, context: { ...exampleContext(), ...props?.context } });
  new LogIngestionStack(app, 'LogIngestion', { env: exampleEnv() });
  LogicalIdGuard.of(app, { lockFile: `${__dirname}/logical-ids.lock.json` }); // fails synth when a stateful resource would be replaced
  return app;
}

if (require.main === module) {
  createApp().synth();
}
