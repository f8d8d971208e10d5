import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import {
  DescribeExecutionCommand, GetExecutionHistoryCommand, HistoryEvent,
  SendTaskFailureCommand, SendTaskHeartbeatCommand, SendTaskSuccessCommand, SFNClient,
} from '@aws-sdk/client-sfn';
import { DynamoDBDocumentClient, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { awsError as fakeError, FakeAgentAws } from './fake-agent-aws';
import { decisionInEvent } from '../../src/agent-workflow/runtime/approval-audit';
import {
  ApprovalEndpointConfig, ApprovalEndpointDeps, cleanComment, cleanName, handle, handler, readApprovalEndpointConfig, resetForTests,
} from '../../src/agent-workflow/runtime/approval-endpoint.lambda';
import { prefersJson } from '../../src/agent-workflow/runtime/approval-page';
import { APPROVAL_REJECTED_ERROR } from '../../src/agent-workflow/runtime/contracts';
import { approvalIdOf, fixedSigningKeys, LinkAction, signLink, SigningKey } from '../../src/agent-workflow/runtime/link-signing';

const ddbMock = mockClient(DynamoDBDocumentClient);
const sfnMock = mockClient(SFNClient);
const eventsMock = mockClient(EventBridgeClient);
const secretsMock = mockClient(SecretsManagerClient);

const KEY = 'endpoint-test-signing-key-0123456789abcdef';
/** The key's id: the secret's VersionId. */
const KID = 'aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee';
const SIGNING: SigningKey = { kid: KID, secret: KEY };
const TOKEN = 'AQCEAAAAKgAAAAMAAAAAAAAAAcTaskToken+With/Chars==';
const NOW = new Date('2026-07-01T12:00:00Z');
const NOW_S = NOW.getTime() / 1000;
const EXP = NOW_S + 3600;
const ID = approvalIdOf(TOKEN);
const EXECUTION = 'arn:aws:states:eu-west-1:123456789012:execution:claims:exec-1';

const ENV = {
  APPROVALS_TABLE: 'approvals',
  AUDIT_TABLE: 'audit',
  SIGNING_SECRET_ARN: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:signing-AbCdEf',
  WORKFLOW_NAME: 'claims',
  EVENT_BUS_NAME: 'bus',
  EVENT_SOURCE: 'acme.agent-workflow',
};
const config: ApprovalEndpointConfig = readApprovalEndpointConfig(ENV);

function item(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    approvalId: ID,
    taskToken: TOKEN,
    executionId: EXECUTION,
    stage: 'primary',
    status: 'PENDING',
    createdAt: NOW_S - 60,
    expiresAt: EXP,
    ttl: EXP,
    reason: 'amount > 1000',
    subjectKey: 's3://inbox/claims/claim-7.pdf',
    fields: { amount: 1500, currency: 'EUR' },
    summary: 'Broken window.',
    notifiedAt: NOW_S - 59,
    ...overrides,
  };
}

function link(action: LinkAction, exp = EXP, key: SigningKey = SIGNING): { action: string; exp: string; sig: string } {
  return { action, exp: String(exp), sig: signLink(key, ID, action, exp) };
}

interface EventOptions {
  readonly id?: string;
  readonly accept?: string;
  readonly contentType?: string;
  readonly base64?: boolean;
  readonly userArn?: string | null;
  readonly claims?: Record<string, string>;
  readonly method?: string;
  readonly path?: string;
  readonly userAgent?: string;
}

function event(method: string, query: Record<string, string> | null, body: string | null, options: EventOptions = {}): APIGatewayProxyEvent {
  const id = options.id ?? ID;
  const headers: Record<string, string> = {};
  if (options.accept) headers.Accept = options.accept;
  if (options.contentType) headers['Content-Type'] = options.contentType;
  if (options.userAgent) headers['User-Agent'] = options.userAgent;
  return {
    httpMethod: method,
    resource: options.path ? '/{proxy+}' : '/approvals/{id}',
    path: options.path ?? `/approvals/${id}`,
    pathParameters: options.path ? null : { id },
    queryStringParameters: query,
    multiValueQueryStringParameters: null,
    headers,
    multiValueHeaders: {},
    body: body !== null && options.base64 ? Buffer.from(body, 'utf8').toString('base64') : body,
    isBase64Encoded: Boolean(options.base64),
    stageVariables: null,
    requestContext: {
      identity: { userArn: options.userArn ?? null, sourceIp: '203.0.113.7' },
      authorizer: options.claims ? { claims: options.claims } : null,
    },
  } as unknown as APIGatewayProxyEvent;
}

const get = (query: Record<string, string> | null, options: EventOptions = {}) => event('GET', query, null, options);
const postForm = (fields: Record<string, string>, options: EventOptions = {}) =>
  event('POST', null, new URLSearchParams(fields).toString(), { contentType: 'application/x-www-form-urlencoded', ...options });
const postJson = (fields: Record<string, unknown>, options: EventOptions = {}) =>
  event('POST', null, JSON.stringify(fields), { contentType: 'application/json', ...options });

type LogLine = { level: string; message: string; extra?: Record<string, unknown> };
function makeDeps(): ApprovalEndpointDeps & { logs: LogLine[]; counted: Record<string, number> } {
  const logs: LogLine[] = [];
  const counted: Record<string, number> = {};
  return {
    ddb: DynamoDBDocumentClient.from(new DynamoDBClient({})),
    sfn: new SFNClient({}),
    events: new EventBridgeClient({}),
    signingKey: fixedSigningKeys(SIGNING),
    now: () => NOW,
    log: {
      info: (message, extra) => logs.push({ level: 'info', message, extra }),
      warn: (message, extra) => logs.push({ level: 'warn', message, extra }),
      error: (message, extra) => logs.push({ level: 'error', message, extra }),
    },
    metrics: { count: (name, value) => { counted[name] = (counted[name] ?? 0) + value; } },
    logs,
    counted,
  };
}

/** A service error as the SDK raises it (HTTP 400 unless told: a refusal, or 5xx: maybe applied). */
const awsError = (name: string, message = name, status = 400) => Object.assign(new Error(message), { name, $metadata: { httpStatusCode: status } });
const updates = () => ddbMock.commandCalls(UpdateCommand).map((c) => c.args[0].input);
const auditPuts = () => ddbMock.commandCalls(PutCommand).map((c) => c.args[0].input).filter((i) => i.TableName === 'audit');
/** APPROVAL# records written. */
const approvalRecords = () => auditPuts().filter((i) => String(i.Item!.recordId).startsWith('APPROVAL#'));
/** Attempt records as last written (a decision's write-ahead record is replaced by its outcome). */
const attempts = (): Array<Record<string, any>> => {
  const byId = new Map<string, Record<string, any>>();
  for (const put of auditPuts()) if (String(put.Item!.recordId).startsWith('ATTEMPT#')) byId.set(String(put.Item!.recordId), put.Item!);
  return [...byId.values()];
};
const ATTEMPT_ID = /^ATTEMPT#2026-07-01T12:00:00\.000Z#[0-9a-f]{16}$/;
const sfnCommandCount = () => sfnMock.calls().length;
const header = (res: APIGatewayProxyResult, name: string) => res.headers?.[name];

beforeEach(() => {
  ddbMock.reset();
  sfnMock.reset();
  eventsMock.reset();
  secretsMock.reset();
  ddbMock.on(GetCommand).resolves({ Item: item() });
  ddbMock.on(UpdateCommand).resolves({});
  ddbMock.on(PutCommand).resolves({});
  sfnMock.on(SendTaskSuccessCommand).resolves({});
  sfnMock.on(SendTaskFailureCommand).resolves({});
  sfnMock.on(SendTaskHeartbeatCommand).resolves({});
  sfnMock.on(GetExecutionHistoryCommand).resolves({ events: [] });
  sfnMock.on(DescribeExecutionCommand).resolves({ status: 'RUNNING' });
  eventsMock.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'e-1' }] });
});

describe('POST decides once', () => {
  test('valid approve: PENDING→DECIDING→DECIDED, SendTaskSuccess once with APPROVED output, audit record, event, 200', async () => {
    const deps = makeDeps();
    const res = await handle(postForm({ ...link('approve'), comment: 'Looks fine', name: 'Ana' }), config, deps);
    expect(res.statusCode).toBe(200);
    expect(header(res, 'Content-Type')).toBe('text/html; charset=utf-8');
    expect(res.body).toContain('Approved: the workflow continues.');

    expect(sfnMock).toHaveReceivedCommandTimes(SendTaskSuccessCommand, 1);
    expect(sfnMock).toHaveReceivedCommandTimes(SendTaskFailureCommand, 0);
    const input = sfnMock.commandCalls(SendTaskSuccessCommand)[0].args[0].input;
    expect(input.taskToken).toBe(TOKEN);
    expect(JSON.parse(input.output!)).toEqual({
      outcome: 'APPROVED', approvalId: ID, approver: 'link:primary', approverName: 'Ana', comment: 'Looks fine', decidedAt: '2026-07-01T12:00:00.000Z',
    });

    const [deciding, decided] = updates();
    expect(updates()).toHaveLength(2);
    expect(deciding).toEqual(expect.objectContaining({
      TableName: 'approvals',
      Key: { approvalId: ID },
      ConditionExpression: '(#status = :pending OR (#status = :deciding AND decidingAt < :stale)) AND expiresAt > :now',
      ExpressionAttributeValues: expect.objectContaining({ ':deciding': 'DECIDING', ':pending': 'PENDING', ':now': NOW_S, ':stale': NOW_S - 60 }),
    }));
    expect(decided).toEqual(expect.objectContaining({
      ConditionExpression: '#status = :deciding',
      ExpressionAttributeValues: expect.objectContaining({ ':decided': 'DECIDED', ':outcome': 'APPROVED', ':approver': 'link:primary', ':approverName': 'Ana', ':comment': 'Looks fine' }),
    }));

    expect(approvalRecords()).toEqual([{
      TableName: 'audit',
      Item: {
        executionId: EXECUTION,
        recordId: `APPROVAL#${ID}`,
        approvalId: ID,
        outcome: 'APPROVED',
        approver: 'link:primary',
        approverName: 'Ana',
        comment: 'Looks fine',
        decidedAt: '2026-07-01T12:00:00.000Z',
        stage: 'primary',
        reason: 'amount > 1000',
        subjectKey: 's3://inbox/claims/claim-7.pdf',
      },
    }]);
    // the attempt: written before the decision is sent (in-progress), then with its outcome
    const [ahead, , after] = ddbMock.commandCalls(PutCommand);
    expect(ahead.args[0].input.Item).toMatchObject({ outcome: 'in-progress', recordId: after.args[0].input.Item!.recordId });
    expect(ahead.calledBefore(sfnMock.commandCalls(SendTaskSuccessCommand)[0])).toBe(true);
    expect(attempts()).toEqual([{
      executionId: EXECUTION,
      recordId: expect.stringMatching(ATTEMPT_ID),
      recordType: 'ATTEMPT',
      attemptedAt: '2026-07-01T12:00:00.000Z',
      outcome: 'applied',
      httpStatus: 200,
      action: 'approve',
      approvalId: ID,
      stage: 'primary',
      approver: 'link:primary',
      approverName: 'Ana',
      comment: 'Looks fine',
      sourceIp: '203.0.113.7',
      decisionOutcome: 'APPROVED',
      decisionApprover: 'link:primary',
      decidedAt: '2026-07-01T12:00:00.000Z',
    }]);
    const entry = eventsMock.commandCalls(PutEventsCommand)[0].args[0].input.Entries![0];
    expect(entry).toEqual(expect.objectContaining({ EventBusName: 'bus', Source: 'acme.agent-workflow', DetailType: 'Approval Decided' }));
    expect(JSON.parse(entry.Detail!)).toEqual(expect.objectContaining({ workflow: 'claims', executionId: EXECUTION, approvalId: ID, outcome: 'APPROVED' }));
    expect(deps.counted).toEqual({ ApprovalsDecided: 1 });
  });

  test('valid reject: SendTaskFailure with ApprovalRejected and the decision as JSON cause, no SendTaskSuccess', async () => {
    const deps = makeDeps();
    const res = await handle(postForm({ ...link('reject'), comment: 'Not covered' }), config, deps);
    expect(res.statusCode).toBe(200);
    expect(sfnMock).toHaveReceivedCommandTimes(SendTaskSuccessCommand, 0);
    expect(sfnMock).toHaveReceivedCommandTimes(SendTaskFailureCommand, 1);
    const input = sfnMock.commandCalls(SendTaskFailureCommand)[0].args[0].input;
    expect(input.taskToken).toBe(TOKEN);
    expect(input.error).toBe(APPROVAL_REJECTED_ERROR);
    expect(input.error).toBe('ApprovalRejected');
    expect(JSON.parse(input.cause!)).toEqual({
      outcome: 'REJECTED', approvalId: ID, approver: 'link:primary', approverName: '', comment: 'Not covered', decidedAt: '2026-07-01T12:00:00.000Z',
    });
    expect(ddbMock).toHaveReceivedCommandWith(PutCommand, { TableName: 'audit', Item: expect.objectContaining({ outcome: 'REJECTED' }) });
    expect(updates()[1].ExpressionAttributeValues).toEqual(expect.objectContaining({ ':decided': 'DECIDED', ':outcome': 'REJECTED' }));
  });

  test('replay of a decided link: 409, no update, no Step Functions call', async () => {
    ddbMock.on(GetCommand).resolves({ Item: item({ status: 'DECIDED', outcome: 'APPROVED', decidedAt: '2026-07-01T11:00:00.000Z' }) });
    const deps = makeDeps();
    for (const action of ['approve', 'reject'] as const) {
      const res = await handle(postForm(link(action)), config, deps);
      expect(res.statusCode).toBe(409);
      expect(res.body).toContain('Already decided');
    }
    expect(sfnCommandCount()).toBe(0);
    expect(ddbMock).toHaveReceivedCommandTimes(UpdateCommand, 0);
    expect(approvalRecords()).toEqual([]);
    expect(eventsMock).toHaveReceivedCommandTimes(PutEventsCommand, 0);
    // each click is audited in the execution's records
    expect(attempts().map((a) => [a.executionId, a.outcome, a.action, a.decisionOutcome, a.httpStatus])).toEqual([
      [EXECUTION, 'duplicate', 'approve', 'APPROVED', 409], [EXECUTION, 'duplicate', 'reject', 'APPROVED', 409],
    ]);
  });

  test('a decision in progress (DECIDING for under a minute) is refused and said to be in progress; one left by a crashed request is taken over', async () => {
    ddbMock.on(GetCommand).resolves({ Item: item({ status: 'DECIDING', decidingAt: NOW_S - 10 }) });
    const fresh = await handle(postForm(link('approve')), config, makeDeps());
    expect(fresh.statusCode).toBe(409);
    expect(fresh.body).toContain('being delivered or verified right now; this request changed nothing');
    expect(sfnCommandCount()).toBe(0);
    expect(attempts()).toEqual([expect.objectContaining({ outcome: 'duplicate', detail: 'a decision is in progress' })]);
    ddbMock.on(GetCommand).resolves({ Item: item({ status: 'DECIDING', decidingAt: NOW_S - 120 }) });
    const stale = await handle(postForm(link('approve')), config, makeDeps());
    expect(stale.statusCode).toBe(200);
    expect(sfnMock).toHaveReceivedCommandTimes(SendTaskSuccessCommand, 1);
  });

  test('a concurrent decision (conditional update fails): 409, no Step Functions call, nothing else written', async () => {
    ddbMock.on(UpdateCommand).rejects(awsError('ConditionalCheckFailedException'));
    const res = await handle(postForm(link('approve')), config, makeDeps());
    expect(res.statusCode).toBe(409);
    expect(sfnCommandCount()).toBe(0);
    expect(ddbMock).toHaveReceivedCommandTimes(UpdateCommand, 1);
    expect(approvalRecords()).toEqual([]);
    expect(attempts()).toEqual([expect.objectContaining({ executionId: EXECUTION, outcome: 'duplicate', detail: 'another request decided first' })]);
  });

  test('forged signature: 403, nothing read or updated, no Step Functions call, refusal logged, counted and audited apart (unattributed)', async () => {
    const deps = makeDeps();
    const forged = { ...link('approve'), sig: signLink({ kid: KID, secret: `${KEY}-other` }, ID, 'approve', EXP) };
    const res = await handle(postForm({ ...forged, comment: 'let me in', name: 'Mallory' }, { userAgent: 'curl/8' }), config, deps);
    expect(res.statusCode).toBe(403);
    expect(ddbMock.calls().map((c) => c.args[0].constructor.name)).toEqual(['PutCommand']);
    expect(attempts()).toEqual([{
      executionId: 'unattributed#2026-07-01',
      recordId: expect.stringMatching(ATTEMPT_ID),
      recordType: 'ATTEMPT',
      attemptedAt: '2026-07-01T12:00:00.000Z',
      outcome: 'forged',
      httpStatus: 403,
      action: 'approve',
      claimedApprovalId: ID,
      approver: 'link',
      approverName: 'Mallory',
      comment: 'let me in',
      sourceIp: '203.0.113.7',
      userAgent: 'curl/8',
      detail: 'signature mismatch',
    }]);
    expect(sfnCommandCount()).toBe(0);
    expect(deps.counted).toEqual({ RejectedApprovalLinks: 1 });
    expect(deps.logs).toEqual([expect.objectContaining({ level: 'warn', message: 'approval link refused', extra: expect.objectContaining({ reason: 'signature mismatch' }) })]);
  });

  test('an approve signature used with action=reject is forged', async () => {
    const res = await handle(postForm({ ...link('approve'), action: 'reject' }), config, makeDeps());
    expect(res.statusCode).toBe(403);
    expect(sfnCommandCount()).toBe(0);
  });

  test('expired link: 410, nothing sent; the approval is only read to put the attempt in its execution\'s records', async () => {
    const deps = makeDeps();
    const res = await handle(postForm(link('approve', NOW_S - 1)), config, deps);
    expect(res.statusCode).toBe(410);
    expect(res.body).toContain('expired');
    expect(ddbMock).toHaveReceivedCommandTimes(GetCommand, 1);
    expect(ddbMock).toHaveReceivedCommandTimes(UpdateCommand, 0);
    expect(attempts()).toEqual([expect.objectContaining({ executionId: EXECUTION, approvalId: ID, outcome: 'expired', detail: 'link expired', httpStatus: 410 })]);
    expect(sfnCommandCount()).toBe(0);
    expect(eventsMock.calls()).toHaveLength(0);
    expect(deps.counted).toEqual({ RejectedApprovalLinks: 1 });
  });

  test('an approval past its expiry (item) answers 410 without updating', async () => {
    ddbMock.on(GetCommand).resolves({ Item: item({ expiresAt: NOW_S }) });
    const res = await handle(postForm(link('approve')), config, makeDeps());
    expect(res.statusCode).toBe(410);
    expect(ddbMock).toHaveReceivedCommandTimes(UpdateCommand, 0);
    expect(sfnCommandCount()).toBe(0);
  });

  test('unknown approval: 404, no update, no Step Functions call', async () => {
    ddbMock.on(GetCommand).resolves({});
    const deps = makeDeps();
    const res = await handle(postForm(link('approve')), config, deps);
    expect(res.statusCode).toBe(404);
    expect(ddbMock).toHaveReceivedCommandTimes(UpdateCommand, 0);
    expect(sfnCommandCount()).toBe(0);
    expect(deps.counted).toEqual({ RejectedApprovalLinks: 1 });
  });

  test('a CLOSED approval: 410, nothing sent', async () => {
    ddbMock.on(GetCommand).resolves({ Item: item({ status: 'CLOSED' }) });
    const res = await handle(postForm(link('approve')), config, makeDeps());
    expect(res.statusCode).toBe(410);
    expect(res.body).toContain('No longer waiting');
    expect(ddbMock).toHaveReceivedCommandTimes(UpdateCommand, 0);
    expect(sfnCommandCount()).toBe(0);
  });

  test.each([
    ['missing sig', { action: 'approve', exp: String(EXP) }],
    ['unknown action', { action: 'delete', exp: String(EXP), sig: 'x'.repeat(43) }],
    ['exp not a number', { action: 'approve', exp: 'tomorrow', sig: 'x'.repeat(43) }],
  ])('malformed (%s): 400, nothing read, nothing sent; audited unattributed', async (_name, fields) => {
    const res = await handle(postForm(fields), config, makeDeps());
    expect(res.statusCode).toBe(400);
    expect(ddbMock).toHaveReceivedCommandTimes(GetCommand, 0);
    expect(ddbMock).toHaveReceivedCommandTimes(UpdateCommand, 0);
    expect(attempts()).toEqual([expect.objectContaining({ executionId: 'unattributed#2026-07-01', outcome: 'malformed', claimedApprovalId: ID })]);
    expect(sfnCommandCount()).toBe(0);
  });

  test('malformed bodies: unsupported content type, too large, broken JSON, non-string comment → 400, nothing sent', async () => {
    const deps = makeDeps();
    const cases = [
      event('POST', null, new URLSearchParams(link('approve')).toString(), { contentType: 'text/plain' }),
      postForm({ ...link('approve'), comment: 'x'.repeat(20_000) }),
      event('POST', null, '{"action":', { contentType: 'application/json' }),
      postJson({ ...link('approve'), comment: { text: 'hi' } }),
    ];
    for (const e of cases) expect((await handle(e, config, deps)).statusCode).toBe(400);
    expect(ddbMock).toHaveReceivedCommandTimes(UpdateCommand, 0);
    expect(sfnCommandCount()).toBe(0);
  });
});

describe('Step Functions answers', () => {
  test.each(['TaskTimedOut', 'TaskDoesNotExist', 'InvalidToken'])('%s, and no decision in the history: 410, item CLOSED (from DECIDING), never DECIDED, no APPROVAL# record', async (name) => {
    sfnMock.on(SendTaskSuccessCommand).rejects(awsError(name, 'Task Timed Out: token'));
    const deps = makeDeps();
    const res = await handle(postForm(link('approve')), config, deps);
    expect(res.statusCode).toBe(410);
    expect(res.body).toContain(name === 'TaskTimedOut' ? 'timed out' : 'no longer waiting');
    expect(res.body).toContain('Nothing was decided.');
    // the token may have been used by an earlier request: the history is read (an invalid token never was)
    expect(sfnMock).toHaveReceivedCommandTimes(GetExecutionHistoryCommand, name === 'InvalidToken' ? 0 : 1);
    if (name !== 'InvalidToken') {
      expect(sfnMock).toHaveReceivedCommandWith(GetExecutionHistoryCommand, {
        executionArn: EXECUTION, reverseOrder: true, maxResults: 1000, includeExecutionData: true,
      });
    }
    expect(attempts()).toEqual([expect.objectContaining({ outcome: 'closed', httpStatus: 410 })]);
    const [deciding, closed] = updates();
    expect(updates()).toHaveLength(2);
    expect(deciding.ExpressionAttributeValues).toEqual(expect.objectContaining({ ':deciding': 'DECIDING' }));
    expect(closed).toEqual(expect.objectContaining({
      ConditionExpression: '#status = :deciding',
      ExpressionAttributeValues: expect.objectContaining({ ':closed': 'CLOSED', ':reason': name }),
    }));
    expect(JSON.stringify(updates())).not.toContain('DECIDED');
    expect(approvalRecords()).toEqual([]);
    expect(eventsMock).toHaveReceivedCommandTimes(PutEventsCommand, 0);
    expect(deps.counted.ApprovalsDecided).toBeUndefined();
  });

  test('throttling: 503 try again, item reverted DECIDING→PENDING, nothing decided', async () => {
    sfnMock.on(SendTaskFailureCommand).rejects(awsError('ThrottlingException', 'Rate exceeded'));
    const deps = makeDeps();
    const res = await handle(postForm(link('reject')), config, deps);
    expect(res.statusCode).toBe(503);
    expect(res.body).toContain('try again');
    const [, reverted] = updates();
    expect(updates()).toHaveLength(2);
    expect(reverted).toEqual(expect.objectContaining({
      ConditionExpression: '#status = :deciding',
      UpdateExpression: 'SET #status = :pending REMOVE decidingAt',
      ExpressionAttributeValues: { ':pending': 'PENDING', ':deciding': 'DECIDING' },
    }));
    expect(approvalRecords()).toEqual([]);
    expect(eventsMock).toHaveReceivedCommandTimes(PutEventsCommand, 0);
    expect(deps.logs.some((l) => l.level === 'error' && l.message.includes('reverted to PENDING'))).toBe(true);
    // a refusal by Step Functions (4xx) applied nothing: no need to read the history
    expect(sfnMock).toHaveReceivedCommandTimes(GetExecutionHistoryCommand, 0);
    expect(attempts()).toEqual([expect.objectContaining({ outcome: 'not-applied', detail: 'Step Functions refused the request: ThrottlingException', httpStatus: 503 })]);
  });

  test('a DynamoDB failure before deciding answers 503 and sends nothing', async () => {
    ddbMock.on(GetCommand).rejects(awsError('ProvisionedThroughputExceededException'));
    const res = await handle(postForm(link('approve')), config, makeDeps());
    expect(res.statusCode).toBe(503);
    expect(sfnCommandCount()).toBe(0);
  });

  test('bookkeeping failures after a delivered decision still answer 200 and are logged', async () => {
    ddbMock.on(PutCommand, { Item: { recordId: `APPROVAL#${ID}` } }).rejects(awsError('InternalServerError', 'internal', 500));
    const deps = makeDeps();
    const res = await handle(postForm(link('approve')), config, deps);
    expect(res.statusCode).toBe(200);
    expect(sfnMock).toHaveReceivedCommandTimes(SendTaskSuccessCommand, 1);
    expect(deps.logs).toContainEqual(expect.objectContaining({ level: 'error', message: 'decision delivered but write audit record failed' }));
    expect(eventsMock).toHaveReceivedCommandTimes(PutEventsCommand, 1);
  });

  test('the attempt record cannot be written ahead: the decision is not sent, the approval back to PENDING, 503 nothing decided', async () => {
    ddbMock.on(PutCommand, { Item: { outcome: 'in-progress' } }).rejects(awsError('AccessDeniedException', 'no PutItem'));
    const deps = makeDeps();
    const res = await handle(postForm(link('approve')), config, deps);
    expect(res.statusCode).toBe(503);
    expect(res.body).toContain('could not be recorded in the audit trail, so it was not sent. Nothing was decided');
    expect(sfnCommandCount()).toBe(0);
    expect(updates().map((u) => u.UpdateExpression)).toEqual(['SET #status = :deciding, decidingAt = :now', 'SET #status = :pending REMOVE decidingAt']);
    expect(deps.logs).toContainEqual(expect.objectContaining({ level: 'error', message: 'the attempt could not be recorded in the audit table; the decision was not sent' }));
  });

  test('the attempt record cannot be written after an applied decision: the answer is still 200, the failure logged', async () => {
    ddbMock.on(PutCommand, { Item: { outcome: 'applied' } }).rejects(awsError('InternalServerError', 'internal', 500));
    const deps = makeDeps();
    const res = await handle(postForm(link('approve')), config, deps);
    expect(res.statusCode).toBe(200);
    expect(sfnMock).toHaveReceivedCommandTimes(SendTaskSuccessCommand, 1);
    expect(deps.logs).toContainEqual(expect.objectContaining({
      level: 'error', message: 'the attempt record could not be written to the audit table', extra: expect.objectContaining({ outcome: 'applied', httpStatus: 200 }),
    }));
    // the write-ahead record stands
    expect(auditPuts()[0].Item).toMatchObject({ outcome: 'in-progress', decisionOutcome: 'APPROVED' });
  });
});

describe('limits: a comment or a name over its limit is refused whole, never cut', () => {
  test('a comment of 1,001 characters: 400 naming the limit and the length (HTML and JSON), nothing decided, the attempt audited with the full comment', async () => {
    const comment = 'c'.repeat(1001);
    const deps = makeDeps();
    const html = await handle(postForm({ ...link('approve'), comment, name: 'Ana' }), config, deps);
    expect(html.statusCode).toBe(400);
    expect(html.body).toContain('The comment has 1001 characters; at most 1000 are accepted. Nothing was decided');
    const json = await handle(postJson({ ...link('approve'), comment }, { accept: 'application/json' }), config, deps);
    expect(json.statusCode).toBe(400);
    expect(JSON.parse(json.body)).toEqual({ status: 'too-long', message: expect.stringContaining('at most 1000'), field: 'comment', limit: 1000, received: 1001 });
    expect(ddbMock).toHaveReceivedCommandTimes(UpdateCommand, 0);
    expect(sfnCommandCount()).toBe(0);
    expect(approvalRecords()).toEqual([]);
    expect(attempts()).toEqual([
      expect.objectContaining({ executionId: EXECUTION, outcome: 'comment-too-long', httpStatus: 400, comment, approverName: 'Ana' }),
      expect.objectContaining({ executionId: EXECUTION, outcome: 'comment-too-long', httpStatus: 400, comment }),
    ]);
  });

  test('a name of 101 characters: 400 naming the name, its limit and length; nothing decided', async () => {
    const res = await handle(postJson({ ...link('reject'), name: 'n'.repeat(101) }, { accept: 'application/json' }), config, makeDeps());
    expect(res.statusCode).toBe(400);
    expect(JSON.parse(res.body)).toMatchObject({ status: 'too-long', field: 'name', limit: 100, received: 101 });
    expect(sfnCommandCount()).toBe(0);
    expect(attempts()).toEqual([expect.objectContaining({ outcome: 'name-too-long', approverName: 'n'.repeat(101) })]);
  });

  test('exactly 1,000 characters, line breaks sent as CR LF (as browsers post a textarea) counted once, as maxlength counts them: decided in full', async () => {
    const comment = `${'a'.repeat(499)}\r\n${'b'.repeat(500)}`;
    const res = await handle(postForm({ ...link('approve'), comment }), config, makeDeps());
    expect(res.statusCode).toBe(200);
    expect(JSON.parse(sfnMock.commandCalls(SendTaskSuccessCommand)[0].args[0].input.output!).comment).toBe(`${'a'.repeat(499)}\n${'b'.repeat(500)}`);
  });

  test('the confirm page limits both fields with maxlength, so browsers stop at the limit', async () => {
    const res = await handle(get(link('approve')), config, makeDeps());
    expect(res.body).toContain('maxlength="1000"');
    expect(res.body).toContain('<input type="text" id="name" name="name" maxlength="100" autocomplete="name">');
    expect(res.body).toContain('at most 1000 characters');
  });
});

describe('every attempted decision is audited', () => {
  test('unknown approval, CLOSED, past its expiry: each POST leaves a record (unknown ones in the day\'s unattributed partition), with its outcome', async () => {
    ddbMock.on(GetCommand).resolves({});
    await handle(postForm({ ...link('approve'), comment: 'x' }), config, makeDeps());
    ddbMock.on(GetCommand).resolves({ Item: item({ status: 'CLOSED', closedReason: 'TaskTimedOut' }) });
    await handle(postForm(link('reject')), config, makeDeps());
    ddbMock.on(GetCommand).resolves({ Item: item({ expiresAt: NOW_S }) });
    await handle(postForm(link('approve')), config, makeDeps());
    expect(attempts().map((a) => [a.executionId, a.outcome, a.httpStatus, a.detail])).toEqual([
      ['unattributed#2026-07-01', 'not-found', 404, 'no such approval'],
      [EXECUTION, 'closed', 410, 'approval CLOSED (TaskTimedOut)'],
      [EXECUTION, 'expired', 410, 'approval expired'],
    ]);
    expect(sfnCommandCount()).toBe(0);
  });

  test('a link signed with a key retired by rotation (authentic): 410, nothing sent, the attempt recorded with its execution', async () => {
    const retired: SigningKey = { kid: 'retired-kid-0001', secret: `${KEY}-retired` };
    const deps = { ...makeDeps(), signingKey: fixedSigningKeys(SIGNING, undefined, [retired]) };
    const res = await handle(postForm({ action: 'approve', exp: String(EXP), sig: signLink(retired, ID, 'approve', EXP) }), config, deps);
    expect(res.statusCode).toBe(410);
    expect(sfnCommandCount()).toBe(0);
    expect(attempts()).toEqual([expect.objectContaining({ executionId: EXECUTION, outcome: 'retired-key', detail: 'signed with a retired key', httpStatus: 410 })]);
  });

  test('GET (the confirm page, mail scanners) is not an attempt: no record', async () => {
    await handle(get(link('approve')), config, makeDeps());
    await handle(get({ ...link('approve'), sig: 'y'.repeat(43) }), config, makeDeps());
    expect(auditPuts()).toEqual([]);
  });

  test('an unattributed record keeps at most 1,000 characters of free text, with the length received', async () => {
    const res = await handle(postForm({ ...link('approve'), sig: 'z'.repeat(43), comment: 'w'.repeat(5000) }), config, makeDeps());
    expect(res.statusCode).toBe(403);
    const [record] = attempts();
    expect(record).toMatchObject({ executionId: 'unattributed#2026-07-01', outcome: 'forged', commentLength: 5000 });
    expect(record.comment).toHaveLength(1000);
  });

  test('an IAM caller is the approver of the attempt record, forged or not', async () => {
    const userArn = 'arn:aws:sts::123456789012:assumed-role/Approvers/ana';
    await handle(postForm({ ...link('approve'), sig: 'z'.repeat(43) }, { userArn }), config, makeDeps());
    await handle(postForm(link('approve'), { userArn }), config, makeDeps());
    expect(attempts().map((a) => [a.outcome, a.approver])).toEqual([['forged', `iam:${userArn}`], ['applied', `iam:${userArn}`]]);
  });

  test('a failed read of the approval (503, nothing decided) is audited as an error', async () => {
    ddbMock.on(GetCommand).rejects(awsError('ProvisionedThroughputExceededException'));
    const res = await handle(postForm(link('approve')), config, makeDeps());
    expect(res.statusCode).toBe(503);
    expect(attempts()).toEqual([expect.objectContaining({
      executionId: 'unattributed#2026-07-01', outcome: 'error', detail: 'request failed before anything was sent: ProvisionedThroughputExceededException',
    })]);
  });

  test('a refusal whose record cannot be written answers as it would; the failure is logged', async () => {
    ddbMock.on(PutCommand).rejects(awsError('AccessDeniedException', 'no PutItem'));
    const deps = makeDeps();
    const res = await handle(postForm({ ...link('approve'), sig: 'z'.repeat(43) }), config, deps);
    expect(res.statusCode).toBe(403);
    expect(deps.logs).toContainEqual(expect.objectContaining({
      level: 'error', message: 'the attempt record could not be written to the audit table', extra: expect.objectContaining({ outcome: 'forged' }),
    }));
  });
});

describe('the truth after Step Functions answers a decision with an error (command-level fake with execution histories)', () => {
  const LATER = new Date(NOW.getTime() + 61_000);
  /** One approval waiting in a fake Step Functions execution, and the handler's deps on that fake. */
  function world(overrides: Record<string, unknown> = {}) {
    const aws = new FakeAgentAws();
    aws.now = () => NOW;
    aws.defineTable('approvals', ['approvalId']);
    aws.defineTable('audit', ['executionId', 'recordId']);
    aws.table('approvals').set(ID, item(overrides));
    aws.linkTask(TOKEN, EXECUTION, new Date(NOW.getTime() - 61_000));
    const deps = { ...makeDeps(), ddb: aws.ddb, sfn: aws.sfn, events: aws.eventBridge };
    const attemptsIn = () => aws.items('audit').filter((i) => String(i.recordId).startsWith('ATTEMPT#'));
    return { aws, deps, approval: () => aws.table('approvals').get(ID)!, record: () => aws.table('audit').get(`${EXECUTION}|APPROVAL#${ID}`), attemptsIn };
  }
  const once = (fn: () => void) => {
    let done = false;
    return () => {
      if (!done) {
        done = true;
        fn();
      }
    };
  };
  const serverError = () => fakeError('InternalServerError', 'We encountered an internal error. Please try again.', 500);

  test('SendTaskSuccess applied, then a 500: the history shows it: 200 "applied", DECIDED, APPROVAL# record, event; a retry answers "already decided"', async () => {
    const w = world();
    w.aws.afterTaskResponse = once(() => {
      throw serverError();
    });
    const res = await handle(postForm({ ...link('approve'), comment: 'ok', name: 'Ana' }), config, w.deps);
    expect(res.statusCode).toBe(200);
    expect(res.body).toContain('Approved: the workflow continues. (Step Functions answered with an error, but the workflow&#39;s history shows your decision was applied.)');
    expect(w.approval()).toMatchObject({ status: 'DECIDED', outcome: 'APPROVED', approverName: 'Ana', comment: 'ok', decidedAt: NOW.toISOString() });
    expect(w.record()).toMatchObject({ outcome: 'APPROVED', approverName: 'Ana', comment: 'ok', decidedAt: NOW.toISOString() });
    expect(w.aws.events).toEqual([expect.objectContaining({ detailType: 'Approval Decided', detail: expect.objectContaining({ outcome: 'APPROVED' }) })]);
    expect(w.deps.counted.ApprovalsDecided).toBe(1);
    expect(w.attemptsIn()).toEqual([expect.objectContaining({
      outcome: 'applied', httpStatus: 200, detail: 'Step Functions answered an error; the execution history shows the decision', decisionOutcome: 'APPROVED',
    })]);

    const retry = await handle(postForm(link('approve')), config, w.deps);
    expect(retry.statusCode).toBe(409);
    expect(retry.body).toContain('Already decided');
    expect(retry.body).toContain('APPROVED');
    expect(w.aws.taskResponses).toHaveLength(1);
  });

  test('a 500 before anything was applied: no decision in the history, the execution runs: 503 "not applied", PENDING; the retry decides', async () => {
    const w = world();
    w.aws.onTaskResponse = once(() => {
      throw serverError();
    });
    const res = await handle(postForm(link('approve')), config, w.deps);
    expect(res.statusCode).toBe(503);
    expect(res.body).toContain('Your decision was not applied');
    expect(res.body).not.toContain('Nothing was decided');
    expect(w.approval()).toMatchObject({ status: 'PENDING' });
    expect(w.approval()).not.toHaveProperty('decidingAt');
    expect(w.record()).toBeUndefined();
    expect(w.attemptsIn()).toEqual([expect.objectContaining({ outcome: 'not-applied', detail: 'InternalServerError; the execution history shows no decision' })]);

    expect((await handle(postForm(link('approve')), config, w.deps)).statusCode).toBe(200);
    expect(w.approval()).toMatchObject({ status: 'DECIDED' });
  });

  test('SendTaskFailure applied, then a network error (no HTTP answer): the TaskFailed in the history is found: 200 "applied", DECIDED REJECTED', async () => {
    const w = world();
    w.aws.afterTaskResponse = once(() => {
      throw Object.assign(new Error('socket hang up'), { name: 'TimeoutError' });
    });
    const res = await handle(postForm({ ...link('reject'), comment: 'no' }), config, w.deps);
    expect(res.statusCode).toBe(200);
    expect(res.body).toContain('Rejected: the workflow records the rejection. (Step Functions answered with an error');
    expect(w.approval()).toMatchObject({ status: 'DECIDED', outcome: 'REJECTED', comment: 'no' });
    expect(w.record()).toMatchObject({ outcome: 'REJECTED' });
  });

  test('the history cannot be read: 503 "unknown" (never "nothing was decided"), the approval stays DECIDING; after 60 s a request takes over and learns the truth', async () => {
    const w = world();
    w.aws.afterTaskResponse = once(() => {
      throw serverError();
    });
    w.aws.onExecutionRead = () => {
      throw fakeError('InternalServerError', 'internal', 500);
    };
    const res = await handle(postForm({ ...link('approve'), name: 'Ana' }), config, w.deps);
    expect(res.statusCode).toBe(503);
    expect(res.body).toContain('it is not known whether your decision was applied');
    expect(res.body).not.toContain('Nothing was decided');
    expect(w.approval()).toMatchObject({ status: 'DECIDING', decidingAt: NOW_S });
    expect(w.record()).toBeUndefined();
    expect(w.attemptsIn()).toEqual([expect.objectContaining({
      outcome: 'unknown', httpStatus: 503, detail: 'InternalServerError; the execution history could not be read (InternalServerError)',
    })]);

    // within the minute, another click is told a decision is being verified
    expect((await handle(postForm(link('reject')), config, w.deps)).body).toContain('being delivered or verified right now');
    // later, the history can be read: a request takes the approval over, its own answer meets TaskTimedOut, the history has the first decision
    w.aws.onExecutionRead = () => undefined;
    const later = await handle(postForm({ ...link('reject'), name: 'Bo' }), config, { ...w.deps, now: () => LATER });
    expect(later.statusCode).toBe(409);
    expect(later.body).toContain('This approval had already been decided by an earlier request: your request changed nothing.');
    expect(w.approval()).toMatchObject({ status: 'DECIDED', outcome: 'APPROVED', approverName: 'Ana', decidedAt: NOW.toISOString() });
    expect(w.record()).toMatchObject({ outcome: 'APPROVED', approverName: 'Ana' });
    expect(w.aws.taskResponses.map((r) => r.kind)).toEqual(['success']);
    expect(w.attemptsIn().map((a) => a.outcome).sort()).toEqual(['duplicate', 'duplicate', 'unknown']);
  });

  test('a request that crashed while DECIDING had delivered its rejection: the next one meets TaskTimedOut and reports that decision (409), DECIDED, APPROVAL# record', async () => {
    const w = world({ status: 'DECIDING', decidingAt: NOW_S - 120 });
    const crashed = { outcome: 'REJECTED', approvalId: ID, approver: 'link:primary', approverName: 'Bo', comment: 'no', decidedAt: '2026-07-01T11:58:00.000Z' };
    await w.aws.sfn.send(new SendTaskFailureCommand({ taskToken: TOKEN, error: APPROVAL_REJECTED_ERROR, cause: JSON.stringify(crashed) }));
    const res = await handle(postForm(link('approve'), { accept: 'application/json' }), config, w.deps);
    expect(res.statusCode).toBe(409);
    expect(JSON.parse(res.body)).toMatchObject({ status: 'already-decided', outcome: 'REJECTED', approver: 'link:primary', decidedAt: crashed.decidedAt });
    expect(w.approval()).toMatchObject({ status: 'DECIDED', outcome: 'REJECTED', approverName: 'Bo', comment: 'no' });
    expect(w.record()).toMatchObject({ outcome: 'REJECTED', approverName: 'Bo', decidedAt: crashed.decidedAt });
  });

  test('TaskTimedOut and no decision in the history: 410 "timed out... Nothing was decided" (now known), CLOSED', async () => {
    const w = world();
    w.aws.closeExecution(EXECUTION, 'TIMED_OUT');
    const res = await handle(postForm(link('approve')), config, w.deps);
    expect(res.statusCode).toBe(410);
    expect(res.body).toContain('The approval timed out: the workflow stopped waiting for it. Nothing was decided.');
    expect(w.approval()).toMatchObject({ status: 'CLOSED', closedReason: 'TaskTimedOut' });
    expect(w.record()).toBeUndefined();
  });

  test('an error that may have been applied, and the execution has since ended without the decision: 410 not applied, CLOSED', async () => {
    const w = world();
    w.aws.onTaskResponse = once(() => {
      w.aws.closeExecution(EXECUTION, 'ABORTED');
      throw serverError();
    });
    const res = await handle(postForm(link('approve')), config, w.deps);
    expect(res.statusCode).toBe(410);
    expect(res.body).toContain('Nothing was decided');
    expect(w.approval()).toMatchObject({ status: 'CLOSED', closedReason: 'execution ABORTED' });
  });

  test('the execution no longer exists (TaskDoesNotExist, ExecutionDoesNotExist): 410, CLOSED, and the answer says an earlier decision cannot be told', async () => {
    sfnMock.on(SendTaskSuccessCommand).rejects(awsError('TaskDoesNotExist'));
    sfnMock.on(GetExecutionHistoryCommand).rejects(awsError('ExecutionDoesNotExist'));
    const res = await handle(postForm(link('approve')), config, makeDeps());
    expect(res.statusCode).toBe(410);
    expect(res.body).toContain('this request decided nothing. Whether an earlier request decided it cannot be told');
    expect(updates()[1].ExpressionAttributeValues).toMatchObject({ ':closed': 'CLOSED', ':reason': 'TaskDoesNotExist' });
  });

  describe('reading the history', () => {
    const decisionEvent = (output: Record<string, unknown>): HistoryEvent => ({
      id: 5000,
      previousEventId: 4999,
      timestamp: NOW,
      type: 'TaskSucceeded',
      taskSucceededEventDetails: { resourceType: 'lambda', resource: 'invoke.waitForTaskToken', output: JSON.stringify(output) },
    });
    const noise = (n: number, at: Date): HistoryEvent[] => Array.from({ length: n }, (_, i) => ({ id: i + 1, timestamp: at, type: 'PassStateExited' } as HistoryEvent));
    const OURS = { outcome: 'APPROVED', approvalId: ID, approver: 'link:primary', approverName: '', comment: '', decidedAt: NOW.toISOString() };
    beforeEach(() => {
      sfnMock.on(SendTaskSuccessCommand).rejects(awsError('InternalServerError', 'internal', 500));
    });

    test('newest first, page after page: the decision on the second page is found', async () => {
      sfnMock.on(GetExecutionHistoryCommand)
        .resolvesOnce({ events: noise(1000, NOW), nextToken: 'page-2' })
        .resolvesOnce({ events: [...noise(10, NOW), decisionEvent(OURS)], nextToken: 'page-3' });
      const res = await handle(postForm(link('approve')), config, makeDeps());
      expect(res.statusCode).toBe(200);
      const reads = sfnMock.commandCalls(GetExecutionHistoryCommand).map((c) => c.args[0].input);
      expect(reads).toEqual([
        { executionArn: EXECUTION, reverseOrder: true, maxResults: 1000, includeExecutionData: true, nextToken: undefined },
        { executionArn: EXECUTION, reverseOrder: true, maxResults: 1000, includeExecutionData: true, nextToken: 'page-2' },
      ]);
      expect(approvalRecords()).toHaveLength(1);
    });

    test('it stops at events older than the approval (less 5 minutes of clock skew): no decision, the execution runs: not applied', async () => {
      const before = new Date((NOW_S - 60 - 301) * 1000);
      sfnMock.on(GetExecutionHistoryCommand).resolves({ events: [...noise(5, NOW), ...noise(5, before)], nextToken: 'more' });
      const res = await handle(postForm(link('approve')), config, makeDeps());
      expect(res.statusCode).toBe(503);
      expect(res.body).toContain('Your decision was not applied');
      expect(sfnMock).toHaveReceivedCommandTimes(GetExecutionHistoryCommand, 1);
      expect(sfnMock).toHaveReceivedCommandWith(DescribeExecutionCommand, { executionArn: EXECUTION });
    });

    test('at most 5 pages: a longer history since the approval answers "unknown"', async () => {
      sfnMock.on(GetExecutionHistoryCommand).resolves({ events: noise(1000, NOW), nextToken: 'more' });
      const res = await handle(postForm(link('approve')), config, makeDeps());
      expect(res.statusCode).toBe(503);
      expect(res.body).toContain('Outcome unknown');
      expect(sfnMock).toHaveReceivedCommandTimes(GetExecutionHistoryCommand, 5);
      expect(updates()).toHaveLength(1); // stays DECIDING
    });

    test('decisions of another approval, another outcome, another error or no JSON are not this approval\'s decision', () => {
      expect(decisionInEvent(decisionEvent(OURS), ID)).toEqual(OURS);
      expect(decisionInEvent(decisionEvent({ ...OURS, approvalId: 'x'.repeat(43) }), ID)).toBeUndefined();
      expect(decisionInEvent(decisionEvent({ ...OURS, outcome: 'REJECTED' }), ID)).toBeUndefined();
      expect(decisionInEvent({ type: 'TaskSucceeded', taskSucceededEventDetails: { output: `not json ${ID}` } }, ID)).toBeUndefined();
      const cause = JSON.stringify({ ...OURS, outcome: 'REJECTED' });
      expect(decisionInEvent({ type: 'TaskFailed', taskFailedEventDetails: { error: 'ApprovalRejected', cause } }, ID)).toMatchObject({ outcome: 'REJECTED' });
      expect(decisionInEvent({ type: 'TaskFailed', taskFailedEventDetails: { error: 'States.Timeout', cause } }, ID)).toBeUndefined();
      expect(decisionInEvent({ type: 'TaskStateExited', taskSucceededEventDetails: { output: JSON.stringify(OURS) } } as HistoryEvent, ID)).toBeUndefined();
    });
  });
});

describe('heartbeat', () => {
  test('POST heartbeat sends SendTaskHeartbeat only: no status change, no audit, 200', async () => {
    const deps = makeDeps();
    const res = await handle(postForm(link('heartbeat')), config, deps);
    expect(res.statusCode).toBe(200);
    expect(sfnMock).toHaveReceivedCommandTimes(SendTaskHeartbeatCommand, 1);
    expect(sfnMock).toHaveReceivedCommandWith(SendTaskHeartbeatCommand, { taskToken: TOKEN });
    expect(sfnCommandCount()).toBe(1);
    expect(ddbMock).toHaveReceivedCommandTimes(UpdateCommand, 0);
    expect(approvalRecords()).toEqual([]);
    expect(attempts()).toEqual([expect.objectContaining({ executionId: EXECUTION, action: 'heartbeat', outcome: 'heartbeat', httpStatus: 200 })]);
    expect(eventsMock).toHaveReceivedCommandTimes(PutEventsCommand, 0);
  });
  test('heartbeat to a timed-out task: 410, no update', async () => {
    sfnMock.on(SendTaskHeartbeatCommand).rejects(awsError('TaskTimedOut'));
    const res = await handle(postForm(link('heartbeat')), config, makeDeps());
    expect(res.statusCode).toBe(410);
    expect(ddbMock).toHaveReceivedCommandTimes(UpdateCommand, 0);
  });
});

describe('GET never decides', () => {
  test.each(['approve', 'reject', 'heartbeat'] as const)('valid %s link: 200 confirm page posting action/exp/sig; no update, no SFN', async (action) => {
    const l = link(action);
    const res = await handle(get(l), config, makeDeps());
    expect(res.statusCode).toBe(200);
    expect(res.body).toContain('<form method="post" enctype="application/x-www-form-urlencoded">');
    expect(res.body).toContain(`<input type="hidden" name="action" value="${action}">`);
    expect(res.body).toContain(`<input type="hidden" name="exp" value="${EXP}">`);
    expect(res.body).toContain(`<input type="hidden" name="sig" value="${l.sig}">`);
    expect(res.body).toContain('amount &gt; 1000');
    expect(res.body).toContain('s3://inbox/claims/claim-7.pdf');
    expect(res.body).toContain('2026-07-01T13:00:00.000Z');
    expect(res.body).toContain('<th>currency</th><td>EUR</td>');
    if (action !== 'heartbeat') {
      expect(res.body).toContain('<textarea id="comment" name="comment" rows="4" maxlength="1000">');
      expect(res.body).toContain('name="name"');
    }
    expect(res.body).not.toContain(TOKEN);
    expect(ddbMock).toHaveReceivedCommandTimes(GetCommand, 1);
    expect(ddbMock).toHaveReceivedCommandTimes(UpdateCommand, 0);
    expect(ddbMock).toHaveReceivedCommandTimes(PutCommand, 0);
    expect(sfnCommandCount()).toBe(0);
    expect(eventsMock.calls()).toHaveLength(0);
  });

  test('invalid GET links (forged, expired, malformed, decided, unknown) change nothing either', async () => {
    const deps = makeDeps();
    const statuses: number[] = [];
    statuses.push((await handle(get({ ...link('approve'), sig: signLink({ kid: KID, secret: `${KEY}x` }, ID, 'approve', EXP) }), config, deps)).statusCode);
    statuses.push((await handle(get(link('approve', NOW_S - 10)), config, deps)).statusCode);
    statuses.push((await handle(get({ action: 'approve' }), config, deps)).statusCode);
    statuses.push((await handle(get(null), config, deps)).statusCode);
    ddbMock.on(GetCommand).resolves({ Item: item({ status: 'DECIDED' }) });
    statuses.push((await handle(get(link('approve')), config, deps)).statusCode);
    ddbMock.on(GetCommand).resolves({});
    statuses.push((await handle(get(link('reject')), config, deps)).statusCode);
    expect(statuses).toEqual([403, 410, 400, 400, 409, 404]);
    expect(ddbMock).toHaveReceivedCommandTimes(UpdateCommand, 0);
    expect(ddbMock).toHaveReceivedCommandTimes(PutCommand, 0);
    expect(sfnCommandCount()).toBe(0);
    expect(deps.counted.RejectedApprovalLinks).toBe(5);
  });
});

describe('escaping and answers', () => {
  const HOSTILE = '<script>alert("x")</script>&\'`';
  test('hostile reason, subject, fields and summary are HTML-escaped on the confirm page', async () => {
    ddbMock.on(GetCommand).resolves({
      Item: item({ reason: HOSTILE, subjectKey: 's3://b/"><img src=x onerror=alert(1)>', summary: HOSTILE, fields: { [HOSTILE]: HOSTILE } }),
    });
    const res = await handle(get(link('approve')), config, makeDeps());
    expect(res.statusCode).toBe(200);
    expect(res.body).not.toContain('<script>');
    expect(res.body).not.toContain('<img');
    expect(res.body).toContain('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;&#39;&#96;');
    expect(res.body).toContain('s3://b/&quot;&gt;&lt;img src=x onerror=alert(1)&gt;');
  });

  test('an object key with line breaks, a fake approve link and <script> stays inert text on the confirm page', async () => {
    const key = 'claims/x.jpg\nApprove: https://evil.example/ok\n<script>alert(1)</script>\r\n<a href="https://evil.example/no">Reject</a>';
    ddbMock.on(GetCommand).resolves({ Item: item({ subjectKey: `s3://b/${key}`, summary: `Fine.\nApprove: https://evil.example/s\n${key}` }) });
    const res = await handle(get(link('approve')), config, makeDeps());
    expect(res.statusCode).toBe(200);
    expect(res.body).not.toMatch(/<script|<a[\s>]/i);
    // no attribute carries the fake links (escaped text such as href=&quot;... is not an attribute)
    expect(res.body).not.toMatch(/(href|src|action|formaction)\s*=\s*["'][^"'>]*evil/i);
    expect(res.body).toContain('<td>s3://b/claims/x.jpg\nApprove: https://evil.example/ok\n&lt;script&gt;alert(1)&lt;/script&gt;\r\n&lt;a href=&quot;https://evil.example/no&quot;&gt;Reject&lt;/a&gt;</td>');
    // the only form posts to the page itself, with the real signature
    expect(res.body.match(/<form[^>]*>/g)).toEqual(['<form method="post" enctype="application/x-www-form-urlencoded">']);
    expect(res.headers?.['Content-Security-Policy']).toContain("default-src 'none'");
  });

  test('a hostile comment and name are escaped on the result page (and sent unescaped to Step Functions)', async () => {
    const res = await handle(postForm({ ...link('approve'), comment: HOSTILE, name: '<b>Eve</b>' }), config, makeDeps());
    expect(res.statusCode).toBe(200);
    expect(res.body).not.toContain('<script>');
    expect(res.body).not.toContain('<b>Eve');
    expect(res.body).toContain('&lt;script&gt;');
    expect(res.body).toContain('&lt;b&gt;Eve&lt;/b&gt;');
    const output = JSON.parse(sfnMock.commandCalls(SendTaskSuccessCommand)[0].args[0].input.output!);
    expect(output.comment).toBe(HOSTILE);
    expect(output.approver).toBe('link:primary');
    expect(output.approverName).toBe('<b>Eve</b>');
  });

  test('every answer carries the security headers', async () => {
    const answers = [
      await handle(get(link('approve')), config, makeDeps()),
      await handle(postForm({ ...link('approve'), sig: 'y'.repeat(43) }), config, makeDeps()),
      await handle(get(link('approve'), { accept: 'application/json' }), config, makeDeps()),
      await handle(event('DELETE', null, null), config, makeDeps()),
    ];
    for (const res of answers) {
      expect(res.headers).toEqual(expect.objectContaining({
        'Content-Security-Policy': "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'",
        'Cache-Control': 'no-store',
        'X-Frame-Options': 'DENY',
        'Referrer-Policy': 'no-referrer',
        'X-Content-Type-Options': 'nosniff',
      }));
    }
  });

  test('Accept: application/json answers JSON {status, message}', async () => {
    const confirm = await handle(get(link('approve'), { accept: 'application/json' }), config, makeDeps());
    expect(confirm.statusCode).toBe(200);
    expect(header(confirm, 'Content-Type')).toBe('application/json; charset=utf-8');
    expect(JSON.parse(confirm.body)).toEqual(expect.objectContaining({ status: 'confirm', action: 'approve', reason: 'amount > 1000', message: expect.any(String) }));

    const forged = await handle(postJson({ ...link('approve'), sig: 'z'.repeat(43) }, { accept: 'application/json' }), config, makeDeps());
    expect(forged.statusCode).toBe(403);
    expect(JSON.parse(forged.body)).toEqual({ status: 'forged', message: expect.stringContaining('not valid') });

    const decided = await handle(postJson(link('approve'), { accept: 'application/json, text/html;q=0.5' }), config, makeDeps());
    expect(decided.statusCode).toBe(200);
    expect(JSON.parse(decided.body)).toEqual(expect.objectContaining({ status: 'decided', outcome: 'APPROVED', approver: 'link:primary' }));

    const browser = await handle(get(link('approve'), { accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8' }), config, makeDeps());
    expect(header(browser, 'Content-Type')).toBe('text/html; charset=utf-8');
  });

  test('prefersJson', () => {
    expect(prefersJson(undefined)).toBe(false);
    expect(prefersJson('*/*')).toBe(false);
    expect(prefersJson('application/json')).toBe(true);
    expect(prefersJson('text/html, application/json')).toBe(false);
    expect(prefersJson('text/html;q=0.5, application/json')).toBe(true);
    expect(prefersJson('application/json;q=0, */*')).toBe(false);
    expect(prefersJson('application/*')).toBe(true);
  });
});

describe('request bodies and identities', () => {
  test('base64-encoded form body (API Gateway binary media) is decoded: comment with UTF-8 and newlines', async () => {
    const res = await handle(postForm({ ...link('approve'), comment: 'Très bien\r\nsecond line\u0007', name: 'Zoë\n' }, { base64: true }), config, makeDeps());
    expect(res.statusCode).toBe(200);
    const output = JSON.parse(sfnMock.commandCalls(SendTaskSuccessCommand)[0].args[0].input.output!);
    expect(output.comment).toBe('Très bien\nsecond line');
    expect(output.approver).toBe('link:primary');
    expect(output.approverName).toBe('Zoë');
  });

  test('JSON body with exp as a number', async () => {
    const l = link('reject');
    const res = await handle(postJson({ action: 'reject', exp: EXP, sig: l.sig }), config, makeDeps());
    expect(res.statusCode).toBe(200);
    expect(sfnMock).toHaveReceivedCommandTimes(SendTaskFailureCommand, 1);
  });

  test('IAM identity: approver iam:<userArn> (+ name)', async () => {
    const userArn = 'arn:aws:sts::123456789012:assumed-role/Approvers/ana';
    await handle(postForm({ ...link('approve'), name: 'Ana' }, { userArn }), config, makeDeps());
    const output = JSON.parse(sfnMock.commandCalls(SendTaskSuccessCommand)[0].args[0].input.output!);
    expect(output.approver).toBe(`iam:${userArn}`);
    expect(output.approverName).toBe('Ana');
    expect(ddbMock).toHaveReceivedCommandWith(PutCommand, { TableName: 'audit', Item: expect.objectContaining({ approver: `iam:${userArn}`, approverName: 'Ana' }) });
  });

  test('Cognito identity: cognito:<email>, else cognito:<sub>', async () => {
    await handle(postForm(link('approve'), { claims: { email: 'ana@example.com', sub: 'uuid-1' } }), config, makeDeps());
    expect(JSON.parse(sfnMock.commandCalls(SendTaskSuccessCommand)[0].args[0].input.output!).approver).toBe('cognito:ana@example.com');
    sfnMock.resetHistory();
    await handle(postForm(link('approve'), { claims: { sub: 'uuid-1' } }), config, makeDeps());
    expect(JSON.parse(sfnMock.commandCalls(SendTaskSuccessCommand)[0].args[0].input.output!).approver).toBe('cognito:uuid-1');
  });

  test('the Approval Decided event carries an identity claim cleaned (one line, no control or bidi characters)', async () => {
    await handle(postForm(link('approve'), { claims: { email: 'ana@example.com\n\u202eApproved-by: ceo@example.com\u0007', sub: 'uuid-1' } }), config, makeDeps());
    const detail = JSON.parse(eventsMock.commandCalls(PutEventsCommand).map((c) => c.args[0].input.Entries!)
      .flat().find((e) => e.DetailType === 'Approval Decided')!.Detail!);
    expect(detail).toEqual(expect.objectContaining({ approver: 'cognito:ana@example.com Approved-by: ceo@example.com', workflow: 'claims', executionId: EXECUTION }));
  });

  test('escalation-stage approvals decided by link are attributed to link:escalation', async () => {
    ddbMock.on(GetCommand).resolves({ Item: item({ stage: 'escalation' }) });
    await handle(postForm(link('approve')), config, makeDeps());
    expect(JSON.parse(sfnMock.commandCalls(SendTaskSuccessCommand)[0].args[0].input.output!).approver).toBe('link:escalation');
  });

  test('comment and name cleaning', () => {
    expect(cleanComment('a\u0000b\u202Ec\r\nd\re')).toBe('abc\nd\ne');
    // never cut: a comment or name over its limit is refused (see 'limits')
    expect(cleanComment('x'.repeat(1500))).toHaveLength(1500);
    expect(cleanComment(undefined)).toBe('');
    expect(cleanComment(42)).toBeUndefined();
    expect(cleanName('  Ana\n\tMaria\u0000 ')).toBe('Ana Maria');
    expect(cleanName('n'.repeat(300))).toHaveLength(300);
  });
});

describe('routing', () => {
  test('unknown route 404, unsupported method 405 with Allow, path-only routing works', async () => {
    const deps = makeDeps();
    expect((await handle(get(link('approve'), { path: '/admin' }), config, deps)).statusCode).toBe(404);
    const put = await handle(event('PUT', null, null), config, deps);
    expect(put.statusCode).toBe(405);
    expect(header(put, 'Allow')).toBe('GET, POST');
    const viaProxy = await handle(get(link('approve'), { path: `/approvals/${ID}` }), config, deps);
    expect(viaProxy.statusCode).toBe(200);
    expect(sfnCommandCount()).toBe(0);
  });
});

describe('secrets never logged', () => {
  test('no log line of any scenario contains the signature, the task token or the key', async () => {
    const deps = makeDeps();
    const l = link('approve');
    await handle(get(l), config, deps);
    await handle(postForm({ ...l, sig: signLink({ kid: KID, secret: `${KEY}x` }, ID, 'approve', EXP) }), config, deps);
    await handle(postForm(link('approve', NOW_S - 5)), config, deps);
    sfnMock.on(SendTaskSuccessCommand).rejects(awsError('ThrottlingException', `token ${TOKEN} throttled`));
    await handle(postForm(l), config, deps);
    sfnMock.on(SendTaskSuccessCommand).resolves({});
    await handle(postForm(l), config, deps);
    expect(deps.logs.length).toBeGreaterThan(3);
    const text = JSON.stringify(deps.logs);
    expect(text).toContain('token <task token> throttled');
    expect(text).not.toContain(l.sig);
    expect(text).not.toContain(TOKEN);
    expect(text).not.toContain(KEY);
  });
});

describe('configuration and wiring', () => {
  test.each(['APPROVALS_TABLE', 'AUDIT_TABLE', 'SIGNING_SECRET_ARN', 'WORKFLOW_NAME', 'EVENT_BUS_NAME', 'EVENT_SOURCE'])('missing %s is an error naming it', (name) => {
    expect(() => readApprovalEndpointConfig({ ...ENV, [name]: '' })).toThrow(new RegExp(`Environment variable ${name} is required`));
  });
  test('metrics namespace defaults, and can be set', () => {
    expect(config.metricsNamespace).toBe('CdkProductionPatterns/AgentWorkflow');
    expect(readApprovalEndpointConfig({ ...ENV, METRICS_NAMESPACE: 'Acme/Approvals' }).metricsNamespace).toBe('Acme/Approvals');
  });

  describe('handler', () => {
    const saved = { ...process.env };
    let stdout: jest.SpyInstance;
    beforeEach(() => {
      resetForTests();
      process.env = { ...saved, ...ENV, POWERTOOLS_LOG_LEVEL: 'SILENT', METRICS_NAMESPACE: 'Test/Approvals' };
      delete process.env.POWERTOOLS_DEV;
      delete process.env.POWERTOOLS_METRICS_DISABLED;
      stdout = jest.spyOn(process.stdout, 'write').mockImplementation(() => true);
      secretsMock.on(GetSecretValueCommand, { VersionStage: 'AWSCURRENT' }).resolves({ SecretString: KEY, VersionId: KID, VersionStages: ['AWSCURRENT'] });
      secretsMock.on(GetSecretValueCommand, { VersionStage: 'AWSPREVIOUS' })
        .rejects(Object.assign(new Error("Secrets Manager can't find the specified secret value for staging label: AWSPREVIOUS"), { name: 'ResourceNotFoundException' }));
    });
    afterEach(() => {
      stdout.mockRestore();
      process.env = { ...saved };
      resetForTests();
    });
    // The handler runs on the real clock.
    const liveExp = () => Math.floor(Date.now() / 1000) + 3600;
    const emf = () => stdout.mock.calls.map((c) => String(c[0])).filter((line) => line.includes('_aws')).map((line) => JSON.parse(line));

    test('a refused link publishes RejectedApprovalLinks (EMF, namespace, Workflow dimension); the keys are read once', async () => {
      const exp = liveExp();
      ddbMock.on(GetCommand).resolves({ Item: item({ expiresAt: exp }) });
      const forged = await handler(postForm({ ...link('approve', exp), sig: 'q'.repeat(43) }));
      expect(forged.statusCode).toBe(403);
      const ok = await handler(get(link('approve', exp)));
      expect(ok.statusCode).toBe(200);
      // AWSCURRENT and AWSPREVIOUS, once for both requests
      expect(secretsMock).toHaveReceivedCommandTimes(GetSecretValueCommand, 2);
      const published = emf();
      expect(published).toHaveLength(1);
      expect(published[0]._aws.CloudWatchMetrics[0]).toEqual(expect.objectContaining({ Namespace: 'Test/Approvals', Dimensions: [['Workflow']] }));
      expect(published[0].Workflow).toBe('claims');
      expect(published[0].RejectedApprovalLinks).toBe(1);
    });

    test('a decision publishes ApprovalsDecided', async () => {
      const exp = liveExp();
      ddbMock.on(GetCommand).resolves({ Item: item({ expiresAt: exp }) });
      const res = await handler(postForm(link('approve', exp)));
      expect(res.statusCode).toBe(200);
      expect(emf()[0].ApprovalsDecided).toBe(1);
    });
  });
});
