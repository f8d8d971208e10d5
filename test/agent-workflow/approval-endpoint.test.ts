import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SendTaskFailureCommand, SendTaskHeartbeatCommand, SendTaskSuccessCommand, SFNClient } from '@aws-sdk/client-sfn';
import { DynamoDBDocumentClient, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import {
  ApprovalEndpointConfig, ApprovalEndpointDeps, cleanComment, cleanName, handle, handler, readApprovalEndpointConfig, resetForTests,
} from '../../src/agent-workflow/runtime/approval-endpoint.lambda';
import { prefersJson } from '../../src/agent-workflow/runtime/approval-page';
import { APPROVAL_REJECTED_ERROR } from '../../src/agent-workflow/runtime/contracts';
import { approvalIdFor, LinkAction, signLink } from '../../src/agent-workflow/runtime/link-signing';

const ddbMock = mockClient(DynamoDBDocumentClient);
const sfnMock = mockClient(SFNClient);
const eventsMock = mockClient(EventBridgeClient);
const secretsMock = mockClient(SecretsManagerClient);

const KEY = 'endpoint-test-signing-key-0123456789abcdef';
const TOKEN = 'AQCEAAAAKgAAAAMAAAAAAAAAAcTaskToken+With/Chars==';
const NOW = new Date('2026-07-01T12:00:00Z');
const NOW_S = NOW.getTime() / 1000;
const EXP = NOW_S + 3600;
const ID = approvalIdFor(KEY, TOKEN);
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

function link(action: LinkAction, exp = EXP, key = KEY): { action: string; exp: string; sig: string } {
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
}

function event(method: string, query: Record<string, string> | null, body: string | null, options: EventOptions = {}): APIGatewayProxyEvent {
  const id = options.id ?? ID;
  const headers: Record<string, string> = {};
  if (options.accept) headers.Accept = options.accept;
  if (options.contentType) headers['Content-Type'] = options.contentType;
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
    signingKey: async () => KEY,
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

const awsError = (name: string, message = name) => Object.assign(new Error(message), { name });
const updates = () => ddbMock.commandCalls(UpdateCommand).map((c) => c.args[0].input);
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

    expect(ddbMock).toHaveReceivedCommandTimes(PutCommand, 1);
    expect(ddbMock).toHaveReceivedCommandWith(PutCommand, {
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
    });
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
    expect(ddbMock).toHaveReceivedCommandTimes(PutCommand, 0);
    expect(eventsMock).toHaveReceivedCommandTimes(PutEventsCommand, 0);
  });

  test('a decision in progress (DECIDING for under a minute) is refused; one left by a crashed request is taken over', async () => {
    ddbMock.on(GetCommand).resolves({ Item: item({ status: 'DECIDING', decidingAt: NOW_S - 10 }) });
    const fresh = await handle(postForm(link('approve')), config, makeDeps());
    expect(fresh.statusCode).toBe(409);
    expect(sfnCommandCount()).toBe(0);
    ddbMock.on(GetCommand).resolves({ Item: item({ status: 'DECIDING', decidingAt: NOW_S - 120 }) });
    const stale = await handle(postForm(link('approve')), config, makeDeps());
    expect(stale.statusCode).toBe(200);
    expect(sfnMock).toHaveReceivedCommandTimes(SendTaskSuccessCommand, 1);
    // the crashed request may have decided already: the answer says so rather than "nothing was decided"
    sfnMock.on(SendTaskSuccessCommand).rejects(awsError('TaskTimedOut'));
    const after = await handle(postForm(link('approve')), config, makeDeps());
    expect(after.statusCode).toBe(410);
    expect(after.body).toContain('may already have decided it');
  });

  test('a concurrent decision (conditional update fails): 409, no Step Functions call, nothing else written', async () => {
    ddbMock.on(UpdateCommand).rejects(awsError('ConditionalCheckFailedException'));
    const res = await handle(postForm(link('approve')), config, makeDeps());
    expect(res.statusCode).toBe(409);
    expect(sfnCommandCount()).toBe(0);
    expect(ddbMock).toHaveReceivedCommandTimes(UpdateCommand, 1);
    expect(ddbMock).toHaveReceivedCommandTimes(PutCommand, 0);
  });

  test('forged signature: 403, no DynamoDB call at all, no Step Functions call, refusal logged and counted', async () => {
    const deps = makeDeps();
    const forged = { ...link('approve'), sig: signLink(`${KEY}-other`, ID, 'approve', EXP) };
    const res = await handle(postForm(forged), config, deps);
    expect(res.statusCode).toBe(403);
    expect(ddbMock.calls()).toHaveLength(0);
    expect(sfnCommandCount()).toBe(0);
    expect(deps.counted).toEqual({ RejectedApprovalLinks: 1 });
    expect(deps.logs).toEqual([expect.objectContaining({ level: 'warn', message: 'approval link refused', extra: expect.objectContaining({ reason: 'signature mismatch' }) })]);
  });

  test('an approve signature used with action=reject is forged', async () => {
    const res = await handle(postForm({ ...link('approve'), action: 'reject' }), config, makeDeps());
    expect(res.statusCode).toBe(403);
    expect(sfnCommandCount()).toBe(0);
  });

  test('expired link: 410, nothing read, nothing sent', async () => {
    const deps = makeDeps();
    const res = await handle(postForm(link('approve', NOW_S - 1)), config, deps);
    expect(res.statusCode).toBe(410);
    expect(res.body).toContain('expired');
    expect(ddbMock.calls()).toHaveLength(0);
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
  ])('malformed (%s): 400, nothing read, nothing sent', async (_name, fields) => {
    const res = await handle(postForm(fields), config, makeDeps());
    expect(res.statusCode).toBe(400);
    expect(ddbMock.calls()).toHaveLength(0);
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
  test.each(['TaskTimedOut', 'TaskDoesNotExist', 'InvalidToken'])('%s: 410, item CLOSED (from DECIDING), never DECIDED, no audit', async (name) => {
    sfnMock.on(SendTaskSuccessCommand).rejects(awsError(name, 'Task Timed Out: token'));
    const deps = makeDeps();
    const res = await handle(postForm(link('approve')), config, deps);
    expect(res.statusCode).toBe(410);
    expect(res.body).toContain(name === 'TaskTimedOut' ? 'timed out' : 'no longer waiting');
    const [deciding, closed] = updates();
    expect(updates()).toHaveLength(2);
    expect(deciding.ExpressionAttributeValues).toEqual(expect.objectContaining({ ':deciding': 'DECIDING' }));
    expect(closed).toEqual(expect.objectContaining({
      ConditionExpression: '#status = :deciding',
      ExpressionAttributeValues: expect.objectContaining({ ':closed': 'CLOSED', ':reason': name }),
    }));
    expect(JSON.stringify(updates())).not.toContain('DECIDED');
    expect(ddbMock).toHaveReceivedCommandTimes(PutCommand, 0);
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
    expect(ddbMock).toHaveReceivedCommandTimes(PutCommand, 0);
    expect(eventsMock).toHaveReceivedCommandTimes(PutEventsCommand, 0);
    expect(deps.logs.some((l) => l.level === 'error' && l.message.includes('reverted to PENDING'))).toBe(true);
  });

  test('a DynamoDB failure before deciding answers 503 and sends nothing', async () => {
    ddbMock.on(GetCommand).rejects(awsError('ProvisionedThroughputExceededException'));
    const res = await handle(postForm(link('approve')), config, makeDeps());
    expect(res.statusCode).toBe(503);
    expect(sfnCommandCount()).toBe(0);
  });

  test('bookkeeping failures after a delivered decision still answer 200 and are logged', async () => {
    ddbMock.on(PutCommand).rejects(awsError('InternalServerError'));
    const deps = makeDeps();
    const res = await handle(postForm(link('approve')), config, deps);
    expect(res.statusCode).toBe(200);
    expect(sfnMock).toHaveReceivedCommandTimes(SendTaskSuccessCommand, 1);
    expect(deps.logs).toContainEqual(expect.objectContaining({ level: 'error', message: 'decision delivered but write audit record failed' }));
    expect(eventsMock).toHaveReceivedCommandTimes(PutEventsCommand, 1);
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
    expect(ddbMock).toHaveReceivedCommandTimes(PutCommand, 0);
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
    statuses.push((await handle(get({ ...link('approve'), sig: signLink(`${KEY}x`, ID, 'approve', EXP) }), config, deps)).statusCode);
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

  test('escalation-stage approvals decided by link are attributed to link:escalation', async () => {
    ddbMock.on(GetCommand).resolves({ Item: item({ stage: 'escalation' }) });
    await handle(postForm(link('approve')), config, makeDeps());
    expect(JSON.parse(sfnMock.commandCalls(SendTaskSuccessCommand)[0].args[0].input.output!).approver).toBe('link:escalation');
  });

  test('comment and name cleaning', () => {
    expect(cleanComment('a\u0000b\u202Ec\r\nd\re')).toBe('abc\nd\ne');
    expect(cleanComment('x'.repeat(1500))).toHaveLength(1000);
    expect(cleanComment(undefined)).toBe('');
    expect(cleanComment(42)).toBeUndefined();
    expect(cleanName('  Ana\n\tMaria\u0000 ')).toBe('Ana Maria');
    expect(cleanName('n'.repeat(300))).toHaveLength(100);
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
    await handle(postForm({ ...l, sig: signLink(`${KEY}x`, ID, 'approve', EXP) }), config, deps);
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
      secretsMock.on(GetSecretValueCommand).resolves({ SecretString: KEY });
    });
    afterEach(() => {
      stdout.mockRestore();
      process.env = { ...saved };
      resetForTests();
    });
    // The handler runs on the real clock.
    const liveExp = () => Math.floor(Date.now() / 1000) + 3600;
    const emf = () => stdout.mock.calls.map((c) => String(c[0])).filter((line) => line.includes('_aws')).map((line) => JSON.parse(line));

    test('a refused link publishes RejectedApprovalLinks (EMF, namespace, Workflow dimension); the key is read once', async () => {
      const exp = liveExp();
      ddbMock.on(GetCommand).resolves({ Item: item({ expiresAt: exp }) });
      const forged = await handler(postForm({ ...link('approve', exp), sig: 'q'.repeat(43) }));
      expect(forged.statusCode).toBe(403);
      const ok = await handler(get(link('approve', exp)));
      expect(ok.statusCode).toBe(200);
      expect(secretsMock).toHaveReceivedCommandTimes(GetSecretValueCommand, 1);
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
