/**
 * The approval monitor at the wire: the insurance-claims example's scheduled function counts the
 * approvals waiting for a human through the approvals table's `byStatus` index (dynalite, the table
 * as synthesized) and publishes its two metrics as CloudWatch embedded-metric documents in its log.
 * It writes nothing to AWS; what it reads and publishes is checked here with the real client.
 */
import { DeleteCommand, PutCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { AgentStack, claimsStack, deploy, Deployed, emf, forgetCalls, logged, undeploy } from './agent-stack';
import { LocalLambda } from '../../harness/aws/lambda-runner';

// Synthesizes a stack and starts the local services in beforeAll; runs bundled handlers as child processes.
jest.setTimeout(60_000);

let claims: AgentStack;
let d: Deployed;

beforeAll(async () => {
  claims = await claimsStack();
  d = await deploy(claims);
});
afterAll(() => undeploy(d));
beforeEach(() => forgetCalls(d));

const nowS = () => Math.floor(Date.now() / 1000);

describe('the approval monitor (scheduled): what waits for a human, and for how long', () => {
  let monitor: LocalLambda;
  let table: string;
  beforeAll(async () => {
    const monitorFn = claims.fn('approvalMonitor');
    table = monitorFn.environment.APPROVALS_TABLE;
    expect(table).toBe(claims.fn('approvalRequest').environment.APPROVALS_TABLE);
    monitor = d.env.lambda(monitorFn);
    // an empty approvals table to start from
    const { Items = [] } = await d.ddb.send(new ScanCommand({ TableName: table, ProjectionExpression: 'approvalId' }));
    for (const item of Items) await d.ddb.send(new DeleteCommand({ TableName: table, Key: { approvalId: item.approvalId } }));
  });

  const scheduled = { 'source': 'aws.events', 'detail-type': 'Scheduled Event', 'detail': {} };
  let n = 0;
  async function seed(status: string, createdAgo: number, expiresIn: number): Promise<void> {
    const now = nowS();
    n++;
    await d.ddb.send(new PutCommand({
      TableName: table,
      Item: {
        approvalId: `seeded-${n}`.padEnd(43, 'x'),
        taskToken: `token-${n}`,
        executionId: `exec-${n}`,
        stage: 'primary',
        status,
        createdAt: now - createdAgo,
        expiresAt: now + expiresIn,
        ttl: now + expiresIn,
        reason: 'r',
        subjectKey: 's3://b/k',
      },
    }));
  }

  test('nothing pending: 0 and 0, both metrics published with the Workflow dimension only', async () => {
    const out = await monitor.invoke(scheduled);
    expect(out.result).toEqual({ pending: 0, oldestAgeSeconds: 0 });
    const [doc] = emf(out.logs);
    expect(doc._aws.CloudWatchMetrics[0]).toMatchObject({
      Namespace: claims.fn('approvalMonitor').environment.METRICS_NAMESPACE,
      Dimensions: [['Workflow']],
      Metrics: expect.arrayContaining([{ Name: 'PendingApprovals', Unit: 'Count' }, { Name: 'OldestPendingApprovalAgeSeconds', Unit: 'Seconds' }]),
    });
    expect(doc).toMatchObject({ Workflow: 'insurance-claims', PendingApprovals: 0, OldestPendingApprovalAgeSeconds: 0 });
    expect(d.env.wire.callsOf('dynamodb').map((c) => c.action)).toEqual(['Query']);
    expect(d.env.wire.callsOf('dynamodb', 'Query')[0].input).toMatchObject({ TableName: table, IndexName: 'byStatus' });
  });

  test('counts live PENDING approvals, the oldest first; expired and decided ones are not counted', async () => {
    await seed('PENDING', 10, 3600);
    await seed('PENDING', 3600, 3600);
    await seed('PENDING', 60, 7200);
    await seed('PENDING', 90000, -10); // past its expiry: Step Functions gave up, only TTL deletion remains
    await seed('DECIDING', 100000, 3600);
    await seed('DECIDED', 100000, 3600);
    await seed('CLOSED', 100000, 3600);
    forgetCalls(d);

    const out = await monitor.invoke(scheduled);
    expect(out.result.pending).toBe(3);
    expect(out.result.oldestAgeSeconds).toBeGreaterThanOrEqual(3600);
    expect(out.result.oldestAgeSeconds).toBeLessThan(3700);
    expect(emf(out.logs)[0]).toMatchObject({ PendingApprovals: 3, OldestPendingApprovalAgeSeconds: out.result.oldestAgeSeconds });
    expect(logged(out.logs, 'pending approvals')[0]).toMatchObject({ level: 'INFO', pending: 3 });
  });

  test('a throttled query is retried by the SDK; a refused query fails naming its cause, and publishes no metric', async () => {
    d.env.wire.fail({ service: 'dynamodb', action: 'Query', code: 'com.amazonaws.dynamodb.v20120810#ThrottlingException', message: 'Rate of requests exceeds the allowed throughput.' });
    const retried = await monitor.invoke(scheduled);
    expect(retried.result.pending).toBe(3);
    expect(d.env.wire.callsOf('dynamodb', 'Query').map((c) => c.error)).toEqual(['com.amazonaws.dynamodb.v20120810#ThrottlingException', undefined]);

    d.env.wire.fail({ service: 'dynamodb', action: 'Query', code: 'com.amazonaws.dynamodb.v20120810#AccessDeniedException', message: 'not authorized to query byStatus' });
    const out = await monitor.invoke(scheduled);
    expect(out.error).toMatchObject({ errorType: 'AccessDeniedException', errorMessage: 'not authorized to query byStatus' });
    expect(logged(out.logs, 'approval monitor failed')[0]).toMatchObject({ level: 'ERROR', error: { name: 'AccessDeniedException', message: 'not authorized to query byStatus' } });
    expect(emf(out.logs)).toEqual([]);
  });
});
