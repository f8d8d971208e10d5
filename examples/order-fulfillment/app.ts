/**
 * Example: the order system of "Simplifying Serverless Workflows with EventBridge Pipes", end to end.
 *
 * Orders are written to a DynamoDB table whose stream carries each item's new image. One pipe reads
 * the stream, keeps only new orders (an INSERT whose `status` is NEW: other writes are not billed by
 * Pipes), and has a Lambda function look the customer up. The enriched order goes to an SNS topic
 * that fans it out to three consumers, each with its own queue, dead-letter queue, filter and Lambda:
 * - Inventory: orders with at least one line item;
 * - Shipping: orders with something to ship (not DIGITAL);
 * - Notification: orders of customers who opted in to e-mail.
 * When a consumer fails (its dead-letter queue receives a message, or its handler's error rate
 * crosses 10%), the circuit breaker stops the pipe, so new orders wait in the stream.
 *
 * `simulate.ts` runs stream records through the synthesized pipe filter, the enrichment function and
 * the consumers' filter policies, and prints who receives what and what it costs a month.
 *
 * The template passes the AWS Control Tower proactive controls except those acknowledged, with the
 * reasons, in ./control-tower.ts.
 */
import { App, AppProps, CfnOutput, Duration, RemovalPolicy, Stack, StackProps, Validations } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import {
  ConsumerFilter, FanOutChannel, LogicalIdGuard, PipeEnrichment, PipeFilter, PipeSource, PipesFanOut, StartingPosition,
} from '../../src';
import { allowLogGroupsToUseKey, limitGrantsToAwsServices } from '../shared/compliance';
import { exampleContext, exampleEnv } from '../shared/example-env';

/** The pipe's filter: new orders only (EventBridge pattern, Pipes dialect). */
export const NEW_ORDERS_PATTERN = { eventName: ['INSERT'], dynamodb: { NewImage: { status: { S: ['NEW'] } } } };

/** Each consumer's filter on the enriched order (SNS filter policy on the message body). */
export const CONSUMER_FILTERS: Record<string, Record<string, unknown>> = {
  Inventory: { lineItemCount: [{ numeric: ['>', 0] }] },
  Shipping: { shippingMethod: [{ 'anything-but': ['DIGITAL'] }] },
  Notification: { customer: { emailOptIn: ['YES'] } },
};

/**
 * The enrichment function (Node.js, inline): receives the batch of stream records that passed the
 * filter, reads each distinct customer once, and returns one enriched order per record, in order.
 * The e-mail address travels only for customers who opted in; an unknown customer is marked, not
 * an error (the order still reaches inventory and shipping).
 */
export const ENRICHMENT_CODE = `
const { DynamoDBClient, GetItemCommand } = require('@aws-sdk/client-dynamodb');
const ddb = new DynamoDBClient({});
const TABLE = process.env.CUSTOMERS_TABLE;
const s = (a) => (a && a.S !== undefined ? a.S : undefined);
const n = (a) => (a && a.N !== undefined ? Number(a.N) : undefined);
exports.handler = async (records) => {
  if (!Array.isArray(records)) throw new Error('expected a batch (array) of DynamoDB stream records');
  const ids = [...new Set(records.map((r) => s(r.dynamodb && r.dynamodb.NewImage && r.dynamodb.NewImage.customerId)).filter(Boolean))];
  const customers = new Map();
  await Promise.all(ids.map(async (id) => {
    const out = await ddb.send(new GetItemCommand({
      TableName: TABLE, Key: { customerId: { S: id } },
      ProjectionExpression: '#n, email, emailOptIn, tier', ExpressionAttributeNames: { '#n': 'name' },
    }));
    if (out.Item) customers.set(id, out.Item);
  }));
  return records.map((r) => {
    const img = r.dynamodb.NewImage;
    const c = customers.get(s(img.customerId));
    const optIn = Boolean(c && c.emailOptIn && c.emailOptIn.BOOL);
    return {
      orderId: s(img.orderId),
      status: s(img.status),
      createdAt: s(img.createdAt),
      total: n(img.total),
      lineItemCount: n(img.lineItemCount) || 0,
      shippingMethod: s(img.shippingMethod) || 'STANDARD',
      customer: c
        ? { customerId: s(img.customerId), found: 'YES', name: s(c.name), tier: s(c.tier) || 'STANDARD', emailOptIn: optIn ? 'YES' : 'NO', email: optIn ? s(c.email) : undefined }
        : { customerId: s(img.customerId), found: 'NO', emailOptIn: 'NO' },
    };
  });
};
`;

/** A consumer's handler (inline): processes each order and reports the ones it failed, one by one. */
function consumerCode(consumer: string): string {
  return `
exports.handler = async (event) => {
  const batchItemFailures = [];
  for (const record of event.Records) {
    try {
      const order = JSON.parse(record.body);
      if (!order.orderId) throw new Error('no orderId');
      console.log(JSON.stringify({ consumer: ${JSON.stringify(consumer)}, orderId: order.orderId }));
    } catch (err) {
      console.error(JSON.stringify({ consumer: ${JSON.stringify(consumer)}, messageId: record.messageId, error: String(err) }));
      batchItemFailures.push({ itemIdentifier: record.messageId });
    }
  }
  return { batchItemFailures };
};
`;
}

export class OrderFulfillmentStack extends Stack {
  public readonly orders: PipesFanOut;
  public readonly ordersTable: dynamodb.Table;
  public readonly customersTable: dynamodb.Table;
  public readonly enrichment: lambda.Function;

  constructor(scope: Construct, id: string, props?: StackProps) {
    super(scope, id, props);
    const key = new kms.Key(this, 'OrdersKey', { enableKeyRotation: true, description: 'Order data encryption' });
    key.grant(new iam.ServicePrincipal('cloudwatch.amazonaws.com'), 'kms:Decrypt', 'kms:GenerateDataKey');
    limitGrantsToAwsServices(key);
    allowLogGroupsToUseKey(key);

    this.ordersTable = new dynamodb.Table(this, 'Orders', {
      partitionKey: { name: 'orderId', type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      stream: dynamodb.StreamViewType.NEW_IMAGE,
      encryption: dynamodb.TableEncryption.CUSTOMER_MANAGED,
      encryptionKey: key,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      deletionProtection: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.customersTable = new dynamodb.Table(this, 'Customers', {
      partitionKey: { name: 'customerId', type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      encryption: dynamodb.TableEncryption.CUSTOMER_MANAGED,
      encryptionKey: key,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      deletionProtection: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });

    const alarms = new sns.Topic(this, 'Alarms', { masterKey: key, enforceSSL: true });

    this.enrichment = this.inlineFunction('CustomerLookup', ENRICHMENT_CODE, key, 'Adds the customer to each new order (the pipe\'s enrichment)');
    this.enrichment.addEnvironment('CUSTOMERS_TABLE', this.customersTable.tableName);
    this.customersTable.grant(this.enrichment, 'dynamodb:GetItem');
    key.grantDecrypt(this.enrichment);

    this.orders = new PipesFanOut(this, 'OrderEvents', {
      source: PipeSource.dynamoDbStream(this.ordersTable, { startingPosition: StartingPosition.LATEST, batchSize: 10 }),
      filter: PipeFilter.fromEventPatterns([NEW_ORDERS_PATTERN]),
      enrichment: PipeEnrichment.lambdaFunction(this.enrichment),
      channel: FanOutChannel.snsTopic(),
      encryptionKey: key,
      alarmTopic: alarms,
      // A consumer whose dead-letter queue fills (or whose handler fails 10% of the time) stops the pipe:
      // new orders wait in the stream (24 hours) instead of piling up in dead-letter queues. Restart by hand.
      circuitBreaker: {},
      description: 'New orders, with their customer, to inventory, shipping and notification',
    });
    for (const [consumer, pattern] of Object.entries(CONSUMER_FILTERS)) {
      this.orders.addConsumer(consumer, {
        handler: this.inlineFunction(`${consumer}Handler`, consumerCode(consumer), key, `The ${consumer.toLowerCase()} consumer of new orders`),
        filter: ConsumerFilter.onBody(pattern),
      });
    }

    new CfnOutput(this, 'OrdersTableName', { value: this.ordersTable.tableName });
    new CfnOutput(this, 'CustomersTableName', { value: this.customersTable.tableName });
    new CfnOutput(this, 'PipeName', { value: this.orders.pipeName });
  }

  private inlineFunction(id: string, code: string, key: kms.IKey, description: string): lambda.Function {
    const logGroup = new logs.LogGroup(this, `${id}Logs`, { retention: logs.RetentionDays.ONE_YEAR, encryptionKey: key });
    const fn = new lambda.Function(this, id, {
      runtime: lambda.Runtime.NODEJS_24_X,
      architecture: lambda.Architecture.ARM_64,
      handler: 'index.handler',
      code: lambda.Code.fromInline(code),
      memorySize: 256,
      timeout: Duration.seconds(30),
      tracing: lambda.Tracing.ACTIVE,
      logGroup,
      loggingFormat: lambda.LoggingFormat.JSON,
      description,
    });
    Validations.of(fn).acknowledge({
      id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
      reason: 'The AWS managed basic execution role only grants writing CloudWatch logs (this function writes to its own log group).',
    });
    Validations.of(fn).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason: 'X-Ray tracing: xray:PutTraceSegments and xray:PutTelemetryRecords support no resource-level permission. '
        + 'Every other statement names its table or key.',
    });
    Validations.of(fn).acknowledge({
      id: 'Serverless-LambdaDLQ',
      reason: 'Invoked synchronously only (by the pipe, or by an SQS event source), never asynchronously: a function dead-letter queue '
        + 'would receive nothing. Failed records go to the pipe\'s source dead-letter queue; failed messages to the consumer\'s.',
    });
    return fn;
  }
}

export function createApp(props?: AppProps): App {
  const app = new App({ ...props, context: { ...exampleContext(), ...props?.context } });
  new OrderFulfillmentStack(app, 'OrderFulfillment', { env: exampleEnv() });
  LogicalIdGuard.of(app, { lockFile: `${__dirname}/logical-ids.lock.json` }); // fails synth when a stateful resource would be replaced
  return app;
}

if (require.main === module) {
  createApp().synth();
}
