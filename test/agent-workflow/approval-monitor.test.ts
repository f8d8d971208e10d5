import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import {
  ApprovalMonitorDeps, handle, handler, readApprovalMonitorConfig, resetForTests,
} from '../../src/agent-workflow/runtime/approval-monitor.lambda';

const ddbMock = mockClient(DynamoDBDocumentClient);
const NOW = new Date('2026-07-01T12:00:00Z');
const NOW_S = NOW.getTime() / 1000;
const config = readApprovalMonitorConfig({ APPROVALS_TABLE: 'approvals', WORKFLOW_NAME: 'claims' });

function makeDeps(): ApprovalMonitorDeps & { gauges: Record<string, { unit: string; value: number }> } {
  const gauges: Record<string, { unit: string; value: number }> = {};
  return {
    ddb: DynamoDBDocumentClient.from(new DynamoDBClient({})),
    now: () => NOW,
    metrics: { gauge: (name, unit, value) => { gauges[name] = { unit, value }; } },
    gauges,
  };
}

beforeEach(() => ddbMock.reset());

describe('approval monitor', () => {
  test('counts live PENDING approvals over every page and reports the oldest age', async () => {
    ddbMock.on(QueryCommand)
      .resolvesOnce({ Items: [], Count: 0, LastEvaluatedKey: { approvalId: 'a', status: 'PENDING', createdAt: NOW_S - 9000 } })
      .resolvesOnce({ Items: [{ createdAt: NOW_S - 7200 }, { createdAt: NOW_S - 100 }], Count: 2, LastEvaluatedKey: { approvalId: 'b' } })
      .resolvesOnce({ Items: [{ createdAt: NOW_S - 10 }], Count: 1 });
    const deps = makeDeps();
    const result = await handle(config, deps);
    expect(result).toEqual({ pending: 3, oldestAgeSeconds: 7200 });
    expect(deps.gauges).toEqual({
      PendingApprovals: { unit: 'Count', value: 3 },
      OldestPendingApprovalAgeSeconds: { unit: 'Seconds', value: 7200 },
    });
    expect(ddbMock).toHaveReceivedCommandTimes(QueryCommand, 3);
    expect(ddbMock).toHaveReceivedNthCommandWith(1, QueryCommand, {
      TableName: 'approvals',
      IndexName: 'byStatus',
      KeyConditionExpression: '#status = :pending',
      FilterExpression: 'expiresAt > :now',
      ExpressionAttributeNames: { '#status': 'status' },
      ExpressionAttributeValues: { ':pending': 'PENDING', ':now': NOW_S },
      ScanIndexForward: true,
      ExclusiveStartKey: undefined,
    });
    expect(ddbMock).toHaveReceivedNthCommandWith(2, QueryCommand, { ExclusiveStartKey: { approvalId: 'a', status: 'PENDING', createdAt: NOW_S - 9000 } });
    expect(ddbMock).toHaveReceivedNthCommandWith(3, QueryCommand, { ExclusiveStartKey: { approvalId: 'b' } });
  });

  test('none pending: 0 and 0', async () => {
    ddbMock.on(QueryCommand).resolves({ Items: [], Count: 0 });
    const deps = makeDeps();
    expect(await handle(config, deps)).toEqual({ pending: 0, oldestAgeSeconds: 0 });
    expect(deps.gauges.PendingApprovals.value).toBe(0);
    expect(deps.gauges.OldestPendingApprovalAgeSeconds.value).toBe(0);
  });

  test('a DynamoDB error fails the run (no metric published from a partial count)', async () => {
    ddbMock.on(QueryCommand).rejects(Object.assign(new Error('nope'), { name: 'AccessDeniedException' }));
    const deps = makeDeps();
    await expect(handle(config, deps)).rejects.toThrow('nope');
    expect(deps.gauges).toEqual({});
  });

  test('configuration: APPROVALS_TABLE and WORKFLOW_NAME required, namespace defaulted', () => {
    expect(() => readApprovalMonitorConfig({ WORKFLOW_NAME: 'claims' })).toThrow(/Environment variable APPROVALS_TABLE is required/);
    expect(() => readApprovalMonitorConfig({ APPROVALS_TABLE: 'approvals' })).toThrow(/Environment variable WORKFLOW_NAME is required/);
    expect(config.metricsNamespace).toBe('CdkProductionPatterns/AgentWorkflow');
  });

  describe('handler', () => {
    const saved = { ...process.env };
    let stdout: jest.SpyInstance;
    beforeEach(() => {
      resetForTests();
      process.env = { ...saved, APPROVALS_TABLE: 'approvals', WORKFLOW_NAME: 'claims', POWERTOOLS_LOG_LEVEL: 'SILENT' };
      delete process.env.POWERTOOLS_DEV;
      delete process.env.POWERTOOLS_METRICS_DISABLED;
      delete process.env.METRICS_NAMESPACE;
      stdout = jest.spyOn(process.stdout, 'write').mockImplementation(() => true);
    });
    afterEach(() => {
      stdout.mockRestore();
      process.env = { ...saved };
      resetForTests();
    });

    test('publishes both metrics as EMF in the default namespace with the Workflow dimension', async () => {
      const createdAt = Math.floor(Date.now() / 1000) - 600;
      ddbMock.on(QueryCommand).resolves({ Items: [{ createdAt }], Count: 1 });
      const result = await handler({ 'source': 'aws.events', 'detail-type': 'Scheduled Event' });
      expect(result.pending).toBe(1);
      expect(result.oldestAgeSeconds).toBeGreaterThanOrEqual(600);
      const emf = stdout.mock.calls.map((c) => String(c[0])).filter((l) => l.includes('_aws')).map((l) => JSON.parse(l));
      expect(emf).toHaveLength(1);
      const directive = emf[0]._aws.CloudWatchMetrics[0];
      expect(directive.Namespace).toBe('CdkProductionPatterns/AgentWorkflow');
      expect(directive.Dimensions).toEqual([['Workflow']]);
      expect(directive.Metrics).toEqual(expect.arrayContaining([
        { Name: 'PendingApprovals', Unit: 'Count' },
        { Name: 'OldestPendingApprovalAgeSeconds', Unit: 'Seconds' },
      ]));
      expect(emf[0].Workflow).toBe('claims');
      expect(emf[0].PendingApprovals).toBe(1);
      expect(emf[0].OldestPendingApprovalAgeSeconds).toBe(result.oldestAgeSeconds);
    });

    test('cold start without configuration fails naming the variable', async () => {
      delete process.env.APPROVALS_TABLE;
      await expect(handler({})).rejects.toThrow(/APPROVALS_TABLE/);
    });
  });
});
