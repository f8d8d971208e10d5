/**
 * Local simulation: synthesizes this app and runs DynamoDB-stream records (INSERT, MODIFY, REMOVE;
 * status NEW and others; images in DynamoDB JSON) through what the template deploys:
 * 1. the pipe's filter: the patterns of the synthesized pipe's FilterCriteria, matched as Pipes
 *    match them (`matchesEventPattern`, pipes mode);
 * 2. the enrichment: the customer-lookup function's own code (the template's inline code, real AWS
 *    SDK), invoked with the batches the pipe would send (its BatchSize), against a Customers table
 *    in a local DynamoDB (dynalite) seeded with three customers;
 * 3. the fan-out: each consumer's SNS subscription FilterPolicy from the template, matched on the
 *    message body (`matchesFilterPolicy`), then the consumer's handler with the SQS event it would get.
 * Prints who receives what and the monthly cost of this traffic (`PipesCostModel`), and exits
 * non-zero when a record goes anywhere its expectation below does not say.
 */
import { PutItemCommand } from '@aws-sdk/client-dynamodb';
import * as sns from 'aws-cdk-lib/aws-sns';
import { CONSUMER_FILTERS, createApp, OrderFulfillmentStack } from './app';
import { matchesEventPattern, matchesFilterPolicy, PipesCostModel } from '../../src';
import { OfflineStack } from '../../test/harness/aws/offline-stack';
import { modelOf, tempOutdir } from '../../test/harness/aws/synth';
import { WireEnvironment } from '../../test/harness/aws/wire-environment';

type Image = Record<string, Record<string, unknown>>;

interface Case {
  readonly label: string;
  readonly eventName: 'INSERT' | 'MODIFY' | 'REMOVE';
  readonly orderId: string;
  /** The item after the write (none for REMOVE: the stream view is NEW_IMAGE). */
  readonly newImage?: Image;
  /** Does the pipe's filter let it through? */
  readonly passesPipe: boolean;
  /** The consumers that must receive it, and no other. */
  readonly consumers: string[];
}

const CUSTOMERS = [
  { customerId: { S: 'c-001' }, name: { S: 'Ana Silva' }, email: { S: 'ana@example.com' }, emailOptIn: { BOOL: true }, tier: { S: 'GOLD' } },
  { customerId: { S: 'c-002' }, name: { S: 'Ben Okafor' }, email: { S: 'ben@example.com' }, emailOptIn: { BOOL: false } },
  { customerId: { S: 'c-003' }, name: { S: 'Chen Wei' }, email: { S: 'chen@example.com' }, emailOptIn: { BOOL: true }, tier: { S: 'STANDARD' } },
];

function order(orderId: string, status: string, customerId: string, extra: Image = {}): Image {
  return {
    orderId: { S: orderId },
    status: { S: status },
    customerId: { S: customerId },
    createdAt: { S: '2026-12-01T10:00:00Z' },
    total: { N: '59.90' },
    lineItemCount: { N: '2' },
    shippingMethod: { S: 'STANDARD' },
    ...extra,
  };
}

const CASES: Case[] = [
  { label: 'new order, customer opted in to e-mail', eventName: 'INSERT', orderId: 'o-1001', newImage: order('o-1001', 'NEW', 'c-001', { lineItemCount: { N: '3' } }), passesPipe: true, consumers: ['Inventory', 'Shipping', 'Notification'] },
  { label: 'new order, customer opted out', eventName: 'INSERT', orderId: 'o-1002', newImage: order('o-1002', 'NEW', 'c-002', { shippingMethod: { S: 'EXPRESS' } }), passesPipe: true, consumers: ['Inventory', 'Shipping'] },
  { label: 'new digital order (nothing to ship)', eventName: 'INSERT', orderId: 'o-1003', newImage: order('o-1003', 'NEW', 'c-003', { shippingMethod: { S: 'DIGITAL' } }), passesPipe: true, consumers: ['Inventory', 'Notification'] },
  { label: 'order shipped (status change)', eventName: 'MODIFY', orderId: 'o-1001', newImage: order('o-1001', 'SHIPPED', 'c-001'), passesPipe: false, consumers: [] },
  { label: 'new order edited, still NEW (MODIFY, not INSERT)', eventName: 'MODIFY', orderId: 'o-1002', newImage: order('o-1002', 'NEW', 'c-002'), passesPipe: false, consumers: [] },
  { label: 'order awaiting payment', eventName: 'INSERT', orderId: 'o-1004', newImage: order('o-1004', 'PENDING_PAYMENT', 'c-001'), passesPipe: false, consumers: [] },
  { label: 'order deleted', eventName: 'REMOVE', orderId: 'o-1003', passesPipe: false, consumers: [] },
  { label: 'new order, unknown customer', eventName: 'INSERT', orderId: 'o-1005', newImage: order('o-1005', 'NEW', 'c-404'), passesPipe: true, consumers: ['Inventory', 'Shipping'] },
  { label: 'new gift card (no line items, digital)', eventName: 'INSERT', orderId: 'o-1006', newImage: order('o-1006', 'NEW', 'c-003', { lineItemCount: { N: '0' }, shippingMethod: { S: 'DIGITAL' } }), passesPipe: true, consumers: ['Notification'] },
  { label: 'status "new" in lower case (values match case-sensitively)', eventName: 'INSERT', orderId: 'o-1007', newImage: order('o-1007', 'new', 'c-001'), passesPipe: false, consumers: [] },
  { label: 'new order without shippingMethod (STANDARD)', eventName: 'INSERT', orderId: 'o-1008', newImage: (() => { const i = order('o-1008', 'NEW', 'c-002', { lineItemCount: { N: '12' } }); delete i.shippingMethod; return i; })(), passesPipe: true, consumers: ['Inventory', 'Shipping'] },
  { label: 'new order with status stored as a number attribute', eventName: 'INSERT', orderId: 'o-1009', newImage: order('o-1009', 'NEW', 'c-001', { status: { N: '1' } }), passesPipe: false, consumers: [] },
];

/** A record as DynamoDB Streams hands it to the pipe (stream view NEW_IMAGE). */
function streamRecord(c: Case, seq: number, tableArn: string): Record<string, unknown> {
  return {
    eventID: `e${seq.toString(16).padStart(31, '0')}`,
    eventName: c.eventName,
    eventVersion: '1.1',
    eventSource: 'aws:dynamodb',
    awsRegion: 'us-east-1',
    dynamodb: {
      ApproximateCreationDateTime: 1796119200 + seq,
      Keys: { orderId: { S: c.orderId } },
      ...(c.newImage ? { NewImage: c.newImage } : {}),
      SequenceNumber: String(100000000000000000000 + seq * 100),
      SizeBytes: Buffer.byteLength(JSON.stringify(c.newImage ?? {})) + 20,
      StreamViewType: 'NEW_IMAGE',
    },
    eventSourceARN: `${tableArn}/stream/2026-12-01T00:00:00.000`,
  };
}

async function main(): Promise<void> {
  const app = createApp({ outdir: tempOutdir('order-fulfillment') });
  const stack = app.node.findChild('OrderFulfillment') as OrderFulfillmentStack;
  const model = modelOf(app);
  const problems: string[] = [];

  // The pipe as synthesized: its filter patterns and batch size.
  const pipe = model.resources[stack.getLogicalId(stack.orders.pipe)].Properties!;
  const patterns = (pipe.SourceParameters.FilterCriteria.Filters as Array<{ Pattern: string }>).map((f) => JSON.parse(f.Pattern));
  const batchSize = Number(pipe.SourceParameters.DynamoDBStreamParameters.BatchSize);
  const enrichmentId = pipe.Enrichment['Fn::GetAtt'][0] as string;
  // The consumers the app adds, as synthesized: each subscription's filter policy on the message body.
  const consumers = Object.keys(CONSUMER_FILTERS).map((id) => {
    const c = stack.orders.consumer(id);
    const sub = model.resources[stack.getLogicalId(c.subscription!.node.defaultChild as sns.CfnSubscription)].Properties!;
    if (JSON.stringify(sub.TopicArn) !== JSON.stringify(pipe.Target)) problems.push(`${id}: its subscription is not on the pipe's target topic`);
    if (sub.FilterPolicyScope !== 'MessageBody' || sub.RawMessageDelivery !== true) problems.push(`${id}: expected raw delivery filtered on the message body`);
    return { id, policy: sub.FilterPolicy as object | undefined, handlerId: stack.getLogicalId(c.handler!.node.defaultChild as any) };
  });
  console.log(`Pipe filter (${patterns.length} pattern(s), from the template): ${patterns.map((p) => JSON.stringify(p)).join(' OR ')}`);
  for (const c of consumers) console.log(`  ${c.id.padEnd(12)} filter policy: ${JSON.stringify(c.policy ?? 'none: every message')}`);

  const env = await WireEnvironment.start();
  const offline = new OfflineStack(env, model);
  const received = new Map<string, string[]>(CASES.map((c) => [`${c.orderId}/${c.eventName}/${c.label}`, []]));
  let passed = 0;
  let deliveries = 0;
  let largestBodyBytes = 0;
  try {
    await offline.provision();
    const customersTable = model.ref(stack.getLogicalId(stack.customersTable.node.defaultChild as any));
    for (const item of CUSTOMERS) await env.dynamodb.client().send(new PutItemCommand({ TableName: customersTable, Item: item as any }));
    const tableArn = `arn:aws:dynamodb:us-east-1:123456789012:table/${model.ref(stack.getLogicalId(stack.ordersTable.node.defaultChild as any))}`;

    // 1. the pipe's filter
    const records = CASES.map((c, i) => ({ c, record: streamRecord(c, i + 1, tableArn) }));
    const through = records.filter(({ c, record }) => {
      const ok = patterns.some((p) => matchesEventPattern(p, record, { mode: 'pipes' }));
      if (ok !== c.passesPipe) problems.push(`${c.orderId} ${c.eventName} (${c.label}): the pipe filter ${ok ? 'passes' : 'drops'} it, expected the opposite`);
      return ok;
    });
    passed = through.length;

    // 2. the enrichment, in the pipe's batches
    const enrichment = offline.lambda(model.fn(enrichmentId));
    const enriched: Array<{ c: Case; body: string }> = [];
    for (let i = 0; i < through.length; i += batchSize) {
      const batch = through.slice(i, i + batchSize);
      const out = await enrichment.invoke(batch.map((b) => b.record));
      if (out.error || !Array.isArray(out.result) || out.result.length !== batch.length) {
        problems.push(`enrichment of batch ${i / batchSize + 1} failed: ${out.error ? `${out.error.errorType}: ${out.error.errorMessage}` : JSON.stringify(out.result)}`);
        continue;
      }
      out.result.forEach((o: any, j: number) => enriched.push({ c: batch[j].c, body: JSON.stringify(o) }));
    }

    // 3. the fan-out: filter policies, then each consumer's handler
    for (const { c, body } of enriched) {
      largestBodyBytes = Math.max(largestBodyBytes, Buffer.byteLength(body));
      const message = JSON.parse(body);
      if (message.orderId !== c.orderId) problems.push(`${c.orderId}: the enrichment returned ${message.orderId} in its place (order not kept)`);
      const optedIn = CUSTOMERS.some((x) => x.customerId.S === message.customer?.customerId && x.emailOptIn.BOOL);
      if (Boolean(message.customer?.email) !== optedIn) problems.push(`${c.orderId}: the e-mail address must travel only for customers who opted in`);
      for (const consumer of consumers) {
        if (consumer.policy && !matchesFilterPolicy(consumer.policy, body)) continue;
        deliveries++;
        received.get(`${c.orderId}/${c.eventName}/${c.label}`)!.push(consumer.id);
        const handled = await offline.lambda(model.fn(consumer.handlerId)).invoke({
          Records: [{ messageId: `${consumer.id}-${c.orderId}`, body, eventSource: 'aws:sqs', attributes: {}, messageAttributes: {} }],
        });
        if (handled.error || handled.result?.batchItemFailures?.length) {
          problems.push(`${consumer.id} failed ${c.orderId}: ${JSON.stringify(handled.error ?? handled.result)}`);
        }
      }
    }
  } finally {
    await offline.close();
    await env.stop();
  }

  console.log('\nRecord                                                            event   pipe     receivers');
  for (const c of CASES) {
    const got = received.get(`${c.orderId}/${c.eventName}/${c.label}`)!;
    const ok = got.join(',') === c.consumers.join(',');
    if (!ok) problems.push(`${c.orderId} ${c.eventName} (${c.label}): received by [${got.join(', ')}], expected [${c.consumers.join(', ')}]`);
    console.log(`${ok ? ' ' : '!'} ${`${c.orderId} ${c.label}`.padEnd(64)} ${c.eventName.padEnd(7)} ${(c.passesPipe ? 'passes' : 'dropped').padEnd(8)} ${got.join(', ') || '-'}`);
  }

  // Monthly cost at scale, with this sample's shape: pass rate, consumer fan-out and message size.
  const filterPassRate = passed / CASES.length;
  const consumerPassRate = passed && consumers.length ? deliveries / (passed * consumers.length) : 0;
  const eventSizeKb = Math.max(1, Math.ceil(largestBodyBytes / 1024));
  console.log(`\nMonthly cost (list prices, us-east-1) with this sample's shape: ${(filterPassRate * 100).toFixed(0)}% of the records pass the pipe, `
    + `each consumer takes ${(consumerPassRate * 100).toFixed(0)}% of them, ${eventSizeKb} KB per event, ${consumers.length} consumers`);
  console.log('  stream records/month   Pipes fan-out   plain SNS/SQS   difference');
  for (const eventsPerMonth of [1_000_000, 10_000_000, 100_000_000]) {
    const e = PipesCostModel.estimate({ eventsPerMonth, consumers: consumers.length, eventSizeKb, filterPassRate, consumerPassRate });
    console.log(`  ${eventsPerMonth.toLocaleString('en-US').padStart(20)}   ${usd(e.pipesFanOut.monthlyUsd).padStart(13)}   `
      + `${usd(e.snsSqs.monthlyUsd).padStart(13)}   ${usd(e.differenceUsd).padStart(10)}`);
  }
  const detail = PipesCostModel.estimate({ eventsPerMonth: 10_000_000, consumers: consumers.length, eventSizeKb, filterPassRate, consumerPassRate });
  console.log('  at 10,000,000 records/month:');
  for (const [name, arch] of [['Pipes fan-out', detail.pipesFanOut], ['plain SNS/SQS', detail.snsSqs]] as const) {
    for (const l of arch.lines) console.log(`    ${name.padEnd(14)} ${l.item.padEnd(46)} ${Math.round(l.units).toLocaleString('en-US').padStart(12)} ${usd(l.monthlyUsd).padStart(9)}`);
  }
  console.log('  (Lambda for the enrichment and the consumers is billed by Lambda and not included.)');

  if (problems.length) throw new Error(`simulation found ${problems.length} problem(s):\n  ${problems.join('\n  ')}`);
  console.log('\nEvery record went where its expectation says.');
}

function usd(value: number): string {
  return `${value < 0 ? '-' : ''}$${Math.abs(value).toFixed(2)}`;
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
