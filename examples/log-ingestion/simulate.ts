/**
 * Local simulation: synthesizes this app and runs log lines through what the template deploys:
 * 1. the Ingest function's own code (the template's inline code, real AWS SDK), invoked with the
 *    SQS batches its event source mapping would send (its BatchSize), against the LogEvents table in
 *    a local DynamoDB (dynalite): well-formed lines are written, malformed ones reported as batch item
 *    failures, a redelivered batch overwrites itself, the warmer's marker payload is answered at once;
 * 2. the cost of the article's workload and of a few other traffic levels on standard Lambda and on
 *    Managed Instances (`ManagedInstanceCostModel`), with the break-even request rate.
 * Exits non-zero when a line is not where its expectation says.
 */
import { QueryCommand, ScanCommand } from '@aws-sdk/client-dynamodb';
import { createApp, LogIngestionStack, RETENTION_DAYS } from './app';
import { ManagedInstanceCostModel, ManagedInstanceCostOptionKind, WARMER_EVENT_SOURCE } from '../../src';
import { OfflineStack } from '../../test/harness/aws/offline-stack';
import { modelOf, tempOutdir } from '../../test/harness/aws/synth';
import { WireEnvironment } from '../../test/harness/aws/wire-environment';

interface Line {
  readonly id: string;
  readonly body: string;
  /** Written to the table (true) or reported as a batch item failure (false). */
  readonly ingested: boolean;
}

const T0 = Date.parse('2026-12-01T17:58:00Z');

/** 230 lines from three sources over two hours, plus the malformed ones a real producer sends. */
function lines(): Line[] {
  const out: Line[] = [];
  const sources = ['api-gateway', 'checkout-service', 'nginx-edge'];
  for (let i = 0; i < 225; i++) {
    const source = sources[i % 3];
    const at = new Date(T0 + i * 30_000).toISOString();
    const level = i % 17 === 0 ? 'error' : i % 5 === 0 ? 'warn' : 'info';
    out.push({ id: `m-${i}`, ingested: true, body: JSON.stringify({ source, timestamp: at, level, message: `request ${i} served in ${20 + (i % 40)} ms` }) });
  }
  out.push({ id: 'bad-json', ingested: false, body: '{"source": "nginx-edge", "message": "truncated' });
  out.push({ id: 'no-source', ingested: false, body: JSON.stringify({ message: 'who sent this?' }) });
  out.push({ id: 'bad-time', ingested: false, body: JSON.stringify({ source: 'api-gateway', timestamp: 'yesterday' }) });
  out.push({ id: 'not-object', ingested: false, body: '42' });
  out.push({ id: 'epoch-ms', ingested: true, body: JSON.stringify({ source: 'api-gateway', timestamp: T0, message: 'epoch milliseconds work too' }) });
  return out;
}

function sqsRecord(line: Line): Record<string, unknown> {
  return {
    messageId: line.id,
    receiptHandle: `rh-${line.id}`,
    body: line.body,
    attributes: { ApproximateReceiveCount: '1', SentTimestamp: String(T0), SenderId: 'AIDAEXAMPLE', ApproximateFirstReceiveTimestamp: String(T0) },
    messageAttributes: {},
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:us-east-1:123456789012:LogLines',
    awsRegion: 'us-east-1',
  };
}

const usd = (n: number) => `$${n.toFixed(2)}`;
const LABEL: Record<ManagedInstanceCostOptionKind, string> = {
  [ManagedInstanceCostOptionKind.STANDARD_LAMBDA]: 'standard Lambda',
  [ManagedInstanceCostOptionKind.MANAGED_ON_DEMAND]: 'managed on-demand',
  [ManagedInstanceCostOptionKind.MANAGED_SAVINGS_PLAN]: 'managed + savings plan',
};

async function main(): Promise<void> {
  const app = createApp({ outdir: tempOutdir('log-ingestion') });
  const stack = app.node.findChild('LogIngestion') as LogIngestionStack;
  const model = modelOf(app);
  const problems: string[] = [];

  const mappings = Object.values(model.resources).filter((r) => r.Type === 'AWS::Lambda::EventSourceMapping');
  if (mappings.length !== 1) problems.push(`expected one event source mapping, found ${mappings.length}`);
  const mapping = mappings[0]?.Properties ?? {};
  const batchSize = Number(mapping.BatchSize ?? 10);
  if (!JSON.stringify(mapping.FunctionName).includes(stack.getLogicalId(stack.ingest.alias.node.defaultChild as any))) {
    problems.push('the event source mapping does not invoke the alias');
  }
  if (!(mapping.FunctionResponseTypes ?? []).includes('ReportBatchItemFailures')) problems.push('the mapping does not report batch item failures');
  console.log(`Event source mapping (from the template): batches of ${batchSize}, window ${mapping.MaximumBatchingWindowInSeconds} s, `
    + `partial failures ${(mapping.FunctionResponseTypes ?? []).join(', ') || 'off'}`);

  const all = lines();
  const env = await WireEnvironment.start();
  const offline = new OfflineStack(env, model);
  const failedIds: string[] = [];
  let stored = 0;
  let redeliveredStored = 0;
  let largestPartition = 0;
  try {
    await offline.provision();
    const table = model.ref(stack.getLogicalId(stack.table.node.defaultChild as any));
    const ingest = offline.lambda(model.fn(stack.getLogicalId(stack.ingest.lambdaFunction.node.defaultChild as any)));

    const warm = await ingest.invoke({ source: WARMER_EVENT_SOURCE, warmer: true, alias: 'live', scheduledAt: '2026-12-01T18:00:00Z' });
    if (warm.error || warm.result?.warmed !== true) problems.push(`the warmer's marker payload was not answered at once: ${JSON.stringify(warm.error ?? warm.result)}`);

    for (let i = 0; i < all.length; i += batchSize) {
      const batch = all.slice(i, i + batchSize);
      const out = await ingest.invoke({ Records: batch.map(sqsRecord) });
      if (out.error) {
        problems.push(`batch ${i / batchSize + 1} failed as a whole: ${out.error.errorType}: ${out.error.errorMessage}`);
        continue;
      }
      failedIds.push(...(out.result?.batchItemFailures ?? []).map((f: { itemIdentifier: string }) => f.itemIdentifier));
    }
    const count = async () => {
      let n = 0;
      let start: Record<string, any> | undefined;
      do {
        const page = await env.dynamodb.client().send(new ScanCommand({ TableName: table, ExclusiveStartKey: start }));
        n += page.Count ?? 0;
        start = page.LastEvaluatedKey;
      } while (start);
      return n;
    };
    stored = await count();

    // SQS delivers at least once: the same batch again must not add items.
    const again = await ingest.invoke({ Records: all.slice(0, batchSize).map(sqsRecord) });
    const againFailed = (again.result?.batchItemFailures ?? []).map((f: { itemIdentifier: string }) => f.itemIdentifier).sort();
    const expectedAgain = all.slice(0, batchSize).filter((l) => !l.ingested).map((l) => l.id).sort();
    if (again.error || JSON.stringify(againFailed) !== JSON.stringify(expectedAgain)) {
      problems.push(`the redelivered batch did not run as the first time: ${JSON.stringify(again.error ?? againFailed)}`);
    }
    redeliveredStored = await count();

    // One hour of one source is one partition: read it back.
    const hour = await env.dynamodb.client().send(new QueryCommand({
      TableName: table,
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': { S: 'checkout-service#2026-12-01T18' } },
    }));
    largestPartition = hour.Count ?? 0;
    const item = hour.Items?.[0];
    const ttl = Number(item?.expiresAt?.N) - Date.parse(item?.sk?.S?.split('#')[0] ?? '') / 1000;
    if (Math.round(ttl / 86400) !== RETENTION_DAYS) problems.push(`expiresAt is ${ttl / 86400} days after the line, expected ${RETENTION_DAYS}`);
  } finally {
    await offline.close();
    await env.stop();
  }

  const expectedFailed = all.filter((l) => !l.ingested).map((l) => l.id).sort();
  const expectedStored = all.filter((l) => l.ingested).length;
  if (JSON.stringify([...failedIds].sort()) !== JSON.stringify(expectedFailed)) {
    problems.push(`batch item failures ${JSON.stringify(failedIds.sort())}, expected ${JSON.stringify(expectedFailed)}`);
  }
  if (stored !== expectedStored) problems.push(`${stored} items in the table, expected ${expectedStored}`);
  if (redeliveredStored !== stored) problems.push(`a redelivered batch changed the item count from ${stored} to ${redeliveredStored}`);
  console.log(`Ingested ${stored} of ${all.length} lines in ${Math.ceil(all.length / batchSize)} batches; `
    + `${failedIds.length} reported for redelivery (${expectedFailed.join(', ')}); a redelivered batch left ${redeliveredStored} items; `
    + `checkout-service 18:00-19:00 holds ${largestPartition} lines.`);

  // Cost: the article's steady workload (200 ms, 1 GB, x86 standard Lambda) against two c7g.large at the article's $0.07/h.
  const fleet = { instanceHourlyUsd: 0.07, instanceCount: 2 };
  const workload = { averageDurationMs: 200, memoryMb: 1024 };
  console.log('\nMonthly cost, the article\'s workload (200 ms, 1 GB) against 2 x c7g.large at $0.07/h (list prices, us-east-1):');
  console.log('  requests/month      req/s   standard Lambda   managed on-demand   managed + savings plan   cheapest');
  for (const requestsPerMonth of [10_000_000, 25_000_000, 50_000_000, 100_000_000]) {
    const c = ManagedInstanceCostModel.compare({ requestsPerMonth, ...workload, ...fleet });
    console.log(`  ${requestsPerMonth.toLocaleString('en-US').padStart(14)} ${c.averageRequestsPerSecond.toFixed(1).padStart(10)}   `
      + `${usd(c.standardLambda.totalUsd).padStart(15)}   ${usd(c.managedOnDemand.totalUsd).padStart(17)}   `
      + `${usd(c.managedSavingsPlan.totalUsd).padStart(22)}   ${LABEL[c.cheapest.kind]}${c.savingsPercent > 0 ? ` (${c.savingsPercent.toFixed(0)}% below standard Lambda)` : ''}`);
  }
  const article = ManagedInstanceCostModel.compare({ requestsPerMonth: 50_000_000, ...workload, ...fleet });
  if (Math.abs(article.managedOnDemand.totalUsd - 127.53) > 0.005) problems.push(`the article's on-demand total is ${article.managedOnDemand.totalUsd}, expected $127.53`);
  const even = ManagedInstanceCostModel.breakEven({ ...workload, ...fleet });
  console.log(`  break-even: on-demand above ${Math.round(even.onDemand.requestsPerMonth).toLocaleString('en-US')} requests/month `
    + `(${even.onDemand.requestsPerSecond.toFixed(2)}/s); with the savings plan above `
    + `${Math.round(even.savingsPlan.requestsPerMonth).toLocaleString('en-US')} (${even.savingsPlan.requestsPerSecond.toFixed(2)}/s)`);
  console.log('  (the running environments need the instances whatever the traffic: below break-even, standard Lambda is cheaper)');

  // This example as deployed: three environments spread over three zones run on three c7g.large (one per zone).
  const own = ManagedInstanceCostModel.compare({ requestsPerMonth: 50_000_000, ...workload, instanceHourlyUsd: 0.07, instanceCount: 3 });
  const ownEven = ManagedInstanceCostModel.breakEven({ ...workload, instanceHourlyUsd: 0.07, instanceCount: 3 });
  console.log('\nThis example as deployed (3 x c7g.large, one per zone, for its 3 minimum environments) at 50,000,000 requests/month: '
    + `on-demand ${usd(own.managedOnDemand.totalUsd)}, with the savings plan ${usd(own.managedSavingsPlan.totalUsd)} `
    + `(standard Lambda ${usd(own.standardLambda.totalUsd)}); break-even on-demand above ${ownEven.onDemand.requestsPerSecond.toFixed(2)}/s.`);

  if (problems.length) throw new Error(`simulation found ${problems.length} problem(s):\n  ${problems.join('\n  ')}`);
  console.log('\nEvery line went where its expectation says.');
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
