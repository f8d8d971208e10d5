/**
 * The approval endpoint at the wire: the insurance-claims example's endpoint function behind API
 * Gateway proxy events built from the links the approval-request function really mailed (through
 * the SNS fake), the confirm page's form posted back as a browser does, DynamoDB in dynalite, task
 * tokens in the Step Functions fake. Every scenario of test/agent-workflow/approval-endpoint.test.ts
 * that touches AWS, with the real clients: GET changes nothing, POST decides exactly once
 * (conditional write, then SendTaskSuccess / SendTaskFailure), refused links, Step Functions
 * answers, throttling, a crashed decision taken over, concurrent posts, heartbeats, bookkeeping;
 * decisions Step Functions answers with an error settled by the execution's history (GetExecutionHistory
 * and DescribeExecution on the fake), every POST's attempt record in the audit table, and comments
 * over their limit refused.
 */
import { SendTaskSuccessCommand, SFNClient } from '@aws-sdk/client-sfn';
import { PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { AgentStack, claimsStack, deploy, Deployed, emf, forgetCalls, itemOf, logged, materialize, partition, signingKeyOf, undeploy } from './agent-stack';
import { APPROVAL_REJECTED_ERROR } from '../../../src/agent-workflow/runtime/contracts';
import { approvalIdOf, LinkAction, signLink, SigningKey } from '../../../src/agent-workflow/runtime/link-signing';
import { InvokeResult, LocalLambda, LogLine, WIRE_CREDENTIALS } from '../../harness/aws/lambda-runner';
import { StackFunction } from '../../harness/aws/stack-model';

// Synthesizes a stack and starts the local services in beforeAll; runs bundled handlers as child processes.
jest.setTimeout(60_000);

let claims: AgentStack;
let d: Deployed;
let requestFn: StackFunction;
let endpointFn: StackFunction;
let request: LocalLambda;
let endpoint: LocalLambda;
let key: SigningKey;
let bucket: string;
/** Every log line of the endpoint in this file (checked for secrets at the end). */
const allLogs: LogLine[] = [];
/** Every task token and signature used in this file. */
const secrets = new Set<string>();

beforeAll(async () => {
  claims = await claimsStack();
  bucket = claims.task('Validate Input').rules.bucket;
  requestFn = claims.fn('approvalRequest');
  endpointFn = claims.fn('approvalEndpoint');
  d = await deploy(claims);
  request = d.env.lambda(requestFn);
  endpoint = d.env.lambda(endpointFn);
  key = signingKeyOf(d, endpointFn.environment.SIGNING_SECRET_ARN);
});
afterAll(() => undeploy(d));
beforeEach(() => forgetCalls(d));

const nowS = () => Math.floor(Date.now() / 1000);
const APPROVALS = () => endpointFn.environment.APPROVALS_TABLE;
const AUDIT = () => endpointFn.environment.AUDIT_TABLE;
let executions = 0;
const nextExecution = () => `arn:aws:states:us-east-1:123456789012:execution:InsuranceClaims-08AA855B:claim-${++executions}`;

interface Approval {
  readonly token: string;
  readonly approvalId: string;
  readonly executionId: string;
  readonly links: Record<string, URL>;
}

function linksOf(message: string): Record<string, URL> {
  const urls = [...message.matchAll(/https:\/\/\S+\/approvals\/\S+/g)].map((m) => new URL(m[0]));
  for (const u of urls) secrets.add(u.searchParams.get('sig')!);
  return Object.fromEntries(urls.map((u) => [u.searchParams.get('action')!, u]));
}

/** An approval requested by the approval-request function (as the state machine invokes it); its links are the ones it mailed. */
async function requested(options: { state?: 'Request Approval' | 'Escalate Approval'; heartbeatSeconds?: number; reason?: string } = {}): Promise<Approval> {
  const executionId = nextExecution();
  const token = d.env.stepFunctions.issueTaskToken({ executionArn: executionId, heartbeatSeconds: options.heartbeatSeconds });
  secrets.add(token);
  const input = {
    verdict: { reason: options.reason ?? 'estimated_cost > policy.autoApproveLimit' },
    validation: { bucket, key: 'claims/2026/claim-7.jpg', versionId: null },
    reasoning: { fields: { damage_type: 'dent', estimated_cost: 2400 }, summary: 'A dent in the rear door.' },
    tools: { policy: { autoApproveLimit: 1000 } },
  };
  const event = materialize(claims.task(options.state ?? 'Request Approval'), input, { Task: { Token: token }, Execution: { Id: executionId } });
  const out = await request.invoke(options.heartbeatSeconds ? { ...event, heartbeatSeconds: options.heartbeatSeconds } : event);
  if (out.error) throw new Error(`approval request failed: ${JSON.stringify(out.error)}`);
  const mail = d.env.sns.published().find((m) => m.message.includes(out.result.approvalId))!;
  forgetCalls(d);
  return { token, approvalId: out.result.approvalId, executionId, links: linksOf(mail.message) };
}

/** An approval item written directly (states a request leaves behind), with links signed by the stack's key. */
async function seeded(item: Record<string, unknown>, options: { token?: string; exp?: number } = {}): Promise<Approval> {
  const executionId = nextExecution();
  const token = options.token ?? d.env.stepFunctions.issueTaskToken({ executionArn: executionId });
  secrets.add(token);
  const approvalId = approvalIdOf(token);
  const now = nowS();
  const exp = options.exp ?? now + 3600;
  await d.ddb.send(new PutCommand({
    TableName: APPROVALS(),
    Item: {
      approvalId,
      taskToken: token,
      executionId,
      stage: 'primary',
      status: 'PENDING',
      createdAt: now - 60,
      expiresAt: exp,
      ttl: exp,
      reason: 'amount > 1000',
      subjectKey: `s3://${bucket}/claims/seeded.jpg`,
      fields: { amount: 1500 },
      summary: 'Seeded.',
      notifiedAt: now - 59,
      ...item,
    },
  }));
  return { token, approvalId, executionId, links: Object.fromEntries((['approve', 'reject', 'heartbeat'] as LinkAction[]).map((a) => [a, link(approvalId, a, exp)])) };
}

function link(approvalId: string, action: LinkAction, exp: number, signingKey: SigningKey = key): URL {
  const sig = signLink(signingKey, approvalId, action, exp);
  secrets.add(sig);
  return new URL(`${requestFn.environment.ENDPOINT_URL}approvals/${approvalId}?${new URLSearchParams({ action, exp: String(exp), sig })}`);
}

interface EventOptions {
  readonly body?: string;
  readonly contentType?: string;
  readonly accept?: string;
  readonly userArn?: string;
  readonly claims?: Record<string, string>;
  readonly method?: string;
}

/** The API Gateway REST proxy event for a request to a link's URL (the stage is the first path segment). */
function apiEvent(method: string, url: URL, options: EventOptions = {}): APIGatewayProxyEvent {
  const stagePath = new URL(requestFn.environment.ENDPOINT_URL).pathname;
  const path = `/${url.pathname.slice(stagePath.length)}`;
  const id = decodeURIComponent(path.split('/')[2] ?? '');
  const query = Object.fromEntries(url.searchParams);
  const headers: Record<string, string> = { 'Host': url.host, 'User-Agent': 'Mozilla/5.0 (wire test)' };
  if (options.accept) headers.Accept = options.accept;
  if (options.contentType) headers['Content-Type'] = options.contentType;
  return {
    httpMethod: method,
    resource: '/approvals/{id}',
    path,
    pathParameters: { id },
    queryStringParameters: Object.keys(query).length ? query : null,
    multiValueQueryStringParameters: Object.keys(query).length ? Object.fromEntries(Object.entries(query).map(([k, v]) => [k, [v]])) : null,
    headers,
    multiValueHeaders: Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, [v]])),
    body: options.body ?? null,
    isBase64Encoded: false,
    stageVariables: null,
    requestContext: {
      stage: stagePath.replace(/\//g, ''),
      httpMethod: method,
      path: url.pathname,
      requestId: `req-${Math.random().toString(16).slice(2)}`,
      identity: { sourceIp: '203.0.113.7', userArn: options.userArn ?? null },
      authorizer: options.claims ? { claims: options.claims } : null,
    },
  } as unknown as APIGatewayProxyEvent;
}

async function call(event: APIGatewayProxyEvent, via: LocalLambda = endpoint): Promise<InvokeResult & { status: number; body: string }> {
  const out = await via.invoke(event);
  allLogs.push(...out.logs);
  if (out.error) throw new Error(`the endpoint threw: ${JSON.stringify(out.error)}`);
  return { ...out, status: out.result.statusCode, body: out.result.body };
}

const get = (url: URL, options: EventOptions = {}) => call(apiEvent('GET', url, options));
/** POSTs form fields to the link's URL (a client that posts what the link carries). */
const post = (url: URL, fields: Record<string, string> = {}, options: EventOptions = {}, via?: LocalLambda) => call(apiEvent('POST', url, {
  body: new URLSearchParams({ action: url.searchParams.get('action')!, exp: url.searchParams.get('exp')!, sig: url.searchParams.get('sig')!, ...fields }).toString(),
  contentType: 'application/x-www-form-urlencoded',
  ...options,
}), via);

/** What a browser does: opens the link (the confirm page), then submits its form. */
async function confirmAndSubmit(url: URL, fields: Record<string, string> = {}, options: EventOptions = {}) {
  const page = await get(url);
  expect(page.status).toBe(200);
  const hidden = Object.fromEntries([...page.body.matchAll(/<input type="hidden" name="(\w+)" value="([^"]*)">/g)].map((m) => [m[1], m[2]]));
  expect(Object.keys(hidden)).toEqual(['action', 'exp', 'sig']);
  return call(apiEvent('POST', url, { body: new URLSearchParams({ ...hidden, ...fields }).toString(), contentType: 'application/x-www-form-urlencoded', ...options }));
}

const approvalItem = (a: Approval) => itemOf(d, APPROVALS(), { approvalId: a.approvalId });
const auditItem = (a: Approval) => itemOf(d, AUDIT(), { executionId: a.executionId, recordId: `APPROVAL#${a.approvalId}` });
const actions = () => d.env.wire.calls.map((c) => `${c.service}:${c.action}${c.error ? `:${c.error}` : ''}`);
const writes = () => actions().filter((a) => /^dynamodb:(PutItem|UpdateItem)|^states:(Send|Start)|^events:/.test(a));
/** What the endpoint read of executions (GetExecutionHistory, DescribeExecution). */
const executionReads = () => actions().filter((a) => /^states:(GetExecutionHistory|DescribeExecution)/.test(a));
/** The attempt records of an approval's execution, oldest first. */
const attemptsOf = async (a: Approval) => (await partition(d, AUDIT(), 'executionId', a.executionId)).filter((i) => i.recordId.startsWith('ATTEMPT#'));
/** Attempts no approval vouched for, in today's (UTC) unattributed partition. */
const unattributed = async () => partition(d, AUDIT(), 'executionId', `unattributed#${new Date().toISOString().slice(0, 10)}`);
/** The write-ahead attempt record, the decision, DECIDED, the APPROVAL# record, the event, the attempt's outcome. */
const DECISION_WRITES = (sent: string) => ['dynamodb:UpdateItem', 'dynamodb:PutItem', sent, 'dynamodb:UpdateItem', 'dynamodb:PutItem', 'events:PutEvents', 'dynamodb:PutItem'];
const taskAnswers = (a: Approval) => d.env.stepFunctions.task(a.token).calls.filter((c) => c.action !== 'SendTaskHeartbeat');
const metric = (logs: LogLine[], name: string) => emf(logs).reduce((sum, doc) => sum + (doc[name] ?? 0), 0);

describe('GET changes nothing; POST decides exactly once', () => {
  test('approve: the confirm page, then the form: DECIDING, SendTaskSuccess, DECIDED, audit record, event, metric; a replay is 409', async () => {
    const a = await requested();
    for (const action of ['approve', 'reject'] as const) {
      const page = await get(a.links[action]);
      expect(page.status).toBe(200);
      expect(page.result.headers['Content-Type']).toBe('text/html; charset=utf-8');
      expect(page.body).toContain(`<input type="hidden" name="action" value="${action}">`);
      expect(page.body).toContain('estimated_cost &gt; policy.autoApproveLimit');
      expect(page.body).toContain(`s3://${bucket}/claims/2026/claim-7.jpg`);
      expect(page.body).not.toContain(a.token);
    }
    expect(writes()).toEqual([]);
    expect(d.env.stepFunctions.task(a.token).status).toBe('OPEN');
    expect(await approvalItem(a)).toMatchObject({ status: 'PENDING' });

    forgetCalls(d);
    const res = await confirmAndSubmit(a.links.approve, { comment: 'Looks fine\r\nPhotos match.', name: 'Ana' });
    expect(res.status).toBe(200);
    expect(res.body).toContain('Approved: the workflow continues.');
    const task = d.env.stepFunctions.task(a.token);
    expect(task.status).toBe('SUCCEEDED');
    const decision = JSON.parse(task.output!);
    expect(decision).toEqual({
      outcome: 'APPROVED', approvalId: a.approvalId, approver: 'link:primary', approverName: 'Ana', comment: 'Looks fine\nPhotos match.', decidedAt: expect.any(String),
    });
    const item = await approvalItem(a);
    expect(item).toMatchObject({
      status: 'DECIDED', outcome: 'APPROVED', approver: 'link:primary', approverName: 'Ana', comment: 'Looks fine\nPhotos match.', decidedAt: decision.decidedAt,
    });
    expect(item).not.toHaveProperty('decidingAt');
    expect(await auditItem(a)).toEqual({
      executionId: a.executionId,
      recordId: `APPROVAL#${a.approvalId}`,
      approvalId: a.approvalId,
      outcome: 'APPROVED',
      approver: 'link:primary',
      approverName: 'Ana',
      comment: 'Looks fine\nPhotos match.',
      decidedAt: decision.decidedAt,
      stage: 'primary',
      reason: 'estimated_cost > policy.autoApproveLimit',
      subjectKey: `s3://${bucket}/claims/2026/claim-7.jpg`,
    });
    const [event] = d.env.eventBridge.events(endpointFn.environment.EVENT_BUS_NAME);
    expect(event).toMatchObject({ source: endpointFn.environment.EVENT_SOURCE, detailType: 'Approval Decided' });
    expect(event.detail).toEqual({
      workflow: 'insurance-claims',
      executionId: a.executionId,
      approvalId: a.approvalId,
      stage: 'primary',
      outcome: 'APPROVED',
      approver: 'link:primary',
      decidedAt: decision.decidedAt,
    });
    expect(writes()).toEqual(DECISION_WRITES('states:SendTaskSuccess'));
    expect(executionReads()).toEqual([]);
    expect(await attemptsOf(a)).toEqual([{
      executionId: a.executionId,
      recordId: expect.stringMatching(/^ATTEMPT#\d{4}-\d\d-\d\dT[\d:.]+Z#[0-9a-f]{16}$/),
      recordType: 'ATTEMPT',
      attemptedAt: expect.any(String),
      outcome: 'applied',
      httpStatus: 200,
      action: 'approve',
      approvalId: a.approvalId,
      stage: 'primary',
      approver: 'link:primary',
      approverName: 'Ana',
      comment: 'Looks fine\nPhotos match.',
      sourceIp: '203.0.113.7',
      userAgent: 'Mozilla/5.0 (wire test)',
      requestId: expect.stringMatching(/^req-/),
      decisionOutcome: 'APPROVED',
      decisionApprover: 'link:primary',
      decidedAt: decision.decidedAt,
    }]);
    // the request arrived, then was decided
    expect((await attemptsOf(a))[0].attemptedAt <= decision.decidedAt).toBe(true);
    const [doc] = emf(res.logs);
    expect(doc._aws.CloudWatchMetrics[0]).toMatchObject({ Namespace: endpointFn.environment.METRICS_NAMESPACE, Dimensions: [['Workflow']] });
    expect(doc).toMatchObject({ Workflow: 'insurance-claims', ApprovalsDecided: 1 });
    expect(logged(res.logs, 'approval decided')[0]).toMatchObject({ level: 'INFO', approvalId: a.approvalId, outcome: 'APPROVED', approver: 'link:primary' });

    forgetCalls(d);
    for (const action of ['approve', 'reject'] as const) {
      const replay = await post(a.links[action]);
      expect(replay.status).toBe(409);
      expect(replay.body).toContain('Already decided');
      expect(replay.body).toContain('APPROVED');
    }
    // only the two attempts are recorded
    expect(writes()).toEqual(['dynamodb:PutItem', 'dynamodb:PutItem']);
    expect((await attemptsOf(a)).map((r) => [r.outcome, r.action, r.httpStatus])).toEqual([['applied', 'approve', 200], ['duplicate', 'approve', 409], ['duplicate', 'reject', 409]]);
    expect(taskAnswers(a)).toHaveLength(1);
  });

  test('reject: SendTaskFailure with the error the state machine catches as a rejection, the decision as its cause', async () => {
    const a = await requested();
    const res = await confirmAndSubmit(a.links.reject, { comment: 'Not covered' });
    expect(res.status).toBe(200);
    expect(res.body).toContain('Rejected: the workflow records the rejection.');
    const task = d.env.stepFunctions.task(a.token);
    expect(task).toMatchObject({ status: 'FAILED', error: APPROVAL_REJECTED_ERROR });
    expect(claims.definition.States['Request Approval'].Catch[0]).toMatchObject({ ErrorEquals: [task.error], Next: 'Parse Rejection' });
    expect(JSON.parse(task.cause!)).toEqual({
      outcome: 'REJECTED', approvalId: a.approvalId, approver: 'link:primary', approverName: '', comment: 'Not covered', decidedAt: expect.any(String),
    });
    expect(await approvalItem(a)).toMatchObject({ status: 'DECIDED', outcome: 'REJECTED' });
    expect(await auditItem(a)).toMatchObject({ outcome: 'REJECTED', comment: 'Not covered' });
    expect(writes()).toEqual(DECISION_WRITES('states:SendTaskFailure'));
    expect(await attemptsOf(a)).toEqual([expect.objectContaining({ outcome: 'applied', action: 'reject', comment: 'Not covered', decisionOutcome: 'REJECTED' })]);
  });

  test('three browsers post at once: exactly one SendTaskSuccess, the others 409', async () => {
    const a = await requested();
    const browsers = [endpoint, d.env.lambda(endpointFn), d.env.lambda(endpointFn)];
    const answers = await Promise.all(browsers.map((b, i) => post(a.links.approve, { name: `browser ${i}` }, {}, b)));
    expect(answers.map((r) => r.status).sort()).toEqual([200, 409, 409]);
    expect(d.env.wire.callsOf('states', 'SendTaskSuccess')).toHaveLength(1);
    expect(taskAnswers(a)).toEqual([{ action: 'SendTaskSuccess', at: expect.any(Date) }]);
    const winner = answers.findIndex((r) => r.status === 200);
    expect(await approvalItem(a)).toMatchObject({ status: 'DECIDED', approverName: `browser ${winner}` });
    const records = await partition(d, AUDIT(), 'executionId', a.executionId);
    expect(records.filter((r) => r.recordId.startsWith('APPROVAL#'))).toHaveLength(1);
    expect((await attemptsOf(a)).map((r) => r.outcome).sort()).toEqual(['applied', 'duplicate', 'duplicate']);
  });

  test('another request decides between the read and the conditional write: ConditionalCheckFailedException from dynalite, 409, nothing sent', async () => {
    const a = await requested();
    d.env.wire.beforeNext('dynamodb', 'UpdateItem', async () => {
      await d.ddb.send(new UpdateCommand({
        TableName: APPROVALS(),
        Key: { approvalId: a.approvalId },
        UpdateExpression: 'SET #s = :d, decidingAt = :now',
        ExpressionAttributeNames: { '#s': 'status' },
        ExpressionAttributeValues: { ':d': 'DECIDING', ':now': nowS() },
      }));
    });
    const res = await post(a.links.approve);
    expect(res.status).toBe(409);
    expect(logged(res.logs, 'approval refused: already decided (concurrent decision)')).toHaveLength(1);
    expect(writes()).toEqual(['dynamodb:UpdateItem:HTTP 400', 'dynamodb:PutItem']);
    expect(await attemptsOf(a)).toEqual([expect.objectContaining({ outcome: 'duplicate', detail: 'another request decided first', httpStatus: 409 })]);
    expect(d.env.stepFunctions.task(a.token).calls).toEqual([]);
  });

  test('DECIDING for under a minute is refused; left by a crashed request (over 60 s) it is taken over; if that request had delivered, the history says so', async () => {
    const fresh = await seeded({ status: 'DECIDING', decidingAt: nowS() - 10 });
    const inProgress = await post(fresh.links.approve);
    expect(inProgress.status).toBe(409);
    expect(inProgress.body).toContain('being delivered or verified right now');
    expect(writes()).toEqual(['dynamodb:PutItem']);

    await d.ddb.send(new UpdateCommand({ TableName: APPROVALS(), Key: { approvalId: fresh.approvalId }, UpdateExpression: 'SET decidingAt = :t', ExpressionAttributeValues: { ':t': nowS() - 120 } }));
    const takenOver = await post(fresh.links.approve, { name: 'Ana' });
    expect(takenOver.status).toBe(200);
    expect(d.env.stepFunctions.task(fresh.token).status).toBe('SUCCEEDED');
    expect(await approvalItem(fresh)).toMatchObject({ status: 'DECIDED', outcome: 'APPROVED', approverName: 'Ana' });

    // the crashed request had reached Step Functions before it died
    const delivered = await seeded({ status: 'DECIDING', decidingAt: nowS() - 120 });
    const sfn = new SFNClient({
      region: 'us-east-1',
      endpoint: d.env.wire.url,
      credentials: { accessKeyId: WIRE_CREDENTIALS.AWS_ACCESS_KEY_ID, secretAccessKey: WIRE_CREDENTIALS.AWS_SECRET_ACCESS_KEY },
    });
    const crashed = {
      outcome: 'APPROVED', approvalId: delivered.approvalId, approver: 'link:primary', approverName: 'Crashed', comment: 'sent, then died', decidedAt: new Date().toISOString(),
    };
    await sfn.send(new SendTaskSuccessCommand({ taskToken: delivered.token, output: JSON.stringify(crashed) }));
    sfn.destroy();
    forgetCalls(d);
    const after = await post(delivered.links.reject, { name: 'Bo' });
    expect(after.status).toBe(409);
    expect(after.body).toContain('This approval had already been decided by an earlier request: your request changed nothing.');
    expect(after.body).toContain('APPROVED');
    expect(writes()).toEqual(['dynamodb:UpdateItem', 'dynamodb:PutItem', 'states:SendTaskFailure:TaskTimedOut', 'dynamodb:UpdateItem', 'dynamodb:PutItem', 'events:PutEvents', 'dynamodb:PutItem']);
    expect(executionReads()).toEqual(['states:GetExecutionHistory']);
    // the crashed request's decision, booked as it would have booked it
    expect(await approvalItem(delivered)).toMatchObject({ status: 'DECIDED', outcome: 'APPROVED', approverName: 'Crashed', decidedAt: crashed.decidedAt });
    expect(await auditItem(delivered)).toMatchObject({ outcome: 'APPROVED', approverName: 'Crashed', comment: 'sent, then died', decidedAt: crashed.decidedAt });
    expect(await attemptsOf(delivered)).toEqual([expect.objectContaining({ outcome: 'duplicate', action: 'reject', approverName: 'Bo', decisionOutcome: 'APPROVED' })]);
  });
});

describe('Step Functions no longer waits, or cannot be reached', () => {
  test.each([
    ['TaskTimedOut', 'The approval timed out'],
    ['TaskDoesNotExist', 'The workflow is no longer waiting for this approval. Nothing was decided.'],
    ['InvalidToken', 'The workflow is no longer waiting for this approval. Nothing was decided.'],
  ])('%s: 410, the approval CLOSED from DECIDING, never DECIDED, no audit record, no event', async (errorCode, text) => {
    const a = errorCode === 'InvalidToken' ? await seeded({}, { token: 'AAAAnot-a-task-token' }) : await requested();
    if (errorCode === 'TaskTimedOut') d.env.stepFunctions.timeOutTask(a.token);
    if (errorCode === 'TaskDoesNotExist') d.env.stepFunctions.forgetTask(a.token);
    const res = await post(a.links.approve);
    expect(res.status).toBe(410);
    expect(res.body).toContain(text);
    expect(writes()).toEqual(['dynamodb:UpdateItem', 'dynamodb:PutItem', `states:SendTaskSuccess:${errorCode}`, 'dynamodb:UpdateItem', 'dynamodb:PutItem']);
    // the token may have been used by an earlier request: the history (then the status) is read; an invalid token never was
    expect(executionReads()).toEqual(errorCode === 'InvalidToken' ? [] : ['states:GetExecutionHistory', 'states:DescribeExecution']);
    expect(await attemptsOf(a)).toEqual([expect.objectContaining({ outcome: 'closed', httpStatus: 410 })]);
    const item = await approvalItem(a);
    expect(item).toMatchObject({ status: 'CLOSED', closedReason: errorCode, closedAt: expect.any(Number) });
    expect(item).not.toHaveProperty('decidingAt');
    expect(item).not.toHaveProperty('outcome');
    expect(await auditItem(a)).toBeUndefined();
    expect(d.env.eventBridge.events()).toEqual([]);
    expect(metric(res.logs, 'ApprovalsDecided')).toBe(0);
    // and from then on the approval answers "closed" without asking Step Functions
    forgetCalls(d);
    expect((await post(a.links.reject)).status).toBe(410);
    expect(writes()).toEqual(['dynamodb:PutItem']);
  });

  test('throttled SendTaskSuccess: 503 try again (one attempt, no SDK retry), the approval back to PENDING; the retry decides', async () => {
    const a = await requested();
    d.env.wire.fail({ service: 'states', action: 'SendTaskSuccess', code: 'ThrottlingException', message: `Rate exceeded for ${a.token}` });
    const res = await post(a.links.approve);
    expect(res.status).toBe(503);
    expect(res.body).toContain('Please try again');
    expect(writes()).toEqual(['dynamodb:UpdateItem', 'dynamodb:PutItem', 'states:SendTaskSuccess:ThrottlingException', 'dynamodb:UpdateItem', 'dynamodb:PutItem']);
    // a refusal by Step Functions (4xx) applied nothing: no history to read
    expect(executionReads()).toEqual([]);
    expect(await attemptsOf(a)).toEqual([expect.objectContaining({ outcome: 'not-applied', detail: 'Step Functions refused the request: ThrottlingException' })]);
    const reverted = await approvalItem(a);
    expect(reverted).toMatchObject({ status: 'PENDING' });
    expect(reverted).not.toHaveProperty('decidingAt');
    const [failure] = logged(res.logs, 'decision could not be delivered to Step Functions; reverted to PENDING');
    expect(failure.error).toEqual({ name: 'ThrottlingException', message: 'Rate exceeded for <task token>' });
    expect(d.env.stepFunctions.task(a.token).status).toBe('OPEN');

    const retry = await post(a.links.approve);
    expect(retry.status).toBe(200);
    expect(d.env.stepFunctions.task(a.token).status).toBe('SUCCEEDED');
  });

  test('when the approval cannot be put back (PENDING or CLOSED) it stays DECIDING, both causes logged; after 60 s it is taken over', async () => {
    const denied = { service: 'dynamodb', action: 'UpdateItem', code: 'com.amazonaws.dynamodb.v20120810#AccessDeniedException', message: 'no UpdateItem' };
    const throttled = await requested();
    d.env.wire.fail({ service: 'states', action: 'SendTaskSuccess', code: 'ThrottlingException', message: 'Rate exceeded' });
    d.env.wire.beforeNext('states', 'SendTaskSuccess', () => d.env.wire.fail(denied));
    const res = await post(throttled.links.approve);
    expect(res.status).toBe(503);
    expect(logged(res.logs, 'could not revert the approval to PENDING: it stays DECIDING')[0].error).toEqual({ name: 'AccessDeniedException', message: 'no UpdateItem' });
    expect(logged(res.logs, 'decision could not be delivered to Step Functions; reverted to PENDING')[0].error).toEqual({ name: 'ThrottlingException', message: 'Rate exceeded' });
    expect(await approvalItem(throttled)).toMatchObject({ status: 'DECIDING', decidingAt: expect.any(Number) });

    const closed = await requested();
    d.env.stepFunctions.timeOutTask(closed.token);
    d.env.wire.beforeNext('states', 'SendTaskSuccess', () => d.env.wire.fail(denied));
    const gone = await post(closed.links.approve);
    expect(gone.status).toBe(410);
    expect(logged(gone.logs, 'could not mark the approval CLOSED')[0].error).toEqual({ name: 'AccessDeniedException', message: 'no UpdateItem' });
    expect(await approvalItem(closed)).toMatchObject({ status: 'DECIDING' });

    // the request that could not revert is a crashed decision for the next one, after 60 s
    await d.ddb.send(new UpdateCommand({
      TableName: APPROVALS(), Key: { approvalId: throttled.approvalId }, UpdateExpression: 'SET decidingAt = :t', ExpressionAttributeValues: { ':t': nowS() - 61 },
    }));
    expect((await post(throttled.links.approve)).status).toBe(200);
    expect(d.env.stepFunctions.task(throttled.token).status).toBe('SUCCEEDED');
  });

  test('a throttled read is retried by the SDK; a read that keeps failing answers 503 and decides nothing', async () => {
    const a = await requested();
    d.env.wire.fail({ service: 'dynamodb', action: 'GetItem', code: 'com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException' });
    expect((await get(a.links.approve)).status).toBe(200);
    expect(d.env.wire.callsOf('dynamodb', 'GetItem').map((c) => c.error)).toEqual(['com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException', undefined]);

    forgetCalls(d);
    // the DynamoDB client makes 4 attempts
    d.env.wire.fail({ service: 'dynamodb', action: 'GetItem', code: 'com.amazonaws.dynamodb.v20120810#InternalServerError', message: 'internal', status: 500, times: 4 });
    const res = await post(a.links.approve);
    expect(res.status).toBe(503);
    expect(d.env.wire.callsOf('dynamodb', 'GetItem').map((c) => c.error)).toEqual(Array(4).fill('com.amazonaws.dynamodb.v20120810#InternalServerError'));
    // nothing but the attempt (the approval unread: unattributed)
    expect(writes()).toEqual(['dynamodb:PutItem']);
    expect(await unattributed()).toContainEqual(expect.objectContaining({
      outcome: 'error', claimedApprovalId: a.approvalId, detail: 'request failed before anything was sent: InternalServerError',
    }));
    expect(logged(res.logs, 'approval request could not be handled; nothing was decided')[0].error).toEqual({ name: 'InternalServerError', message: 'internal' });
    expect(await approvalItem(a)).toMatchObject({ status: 'PENDING' });
  });

  test('after a delivered decision, a failed audit write and a failed event are logged with their causes; the answer is 200, the approval DECIDED', async () => {
    const a = await requested();
    // the next PutItem after the decision is the APPROVAL# record (the attempt record was written ahead)
    d.env.wire.beforeNext('states', 'SendTaskSuccess', () => d.env.wire.fail({
      service: 'dynamodb', action: 'PutItem', code: 'com.amazonaws.dynamodb.v20120810#AccessDeniedException', message: 'no PutItem on the audit table',
    }));
    d.env.wire.fail({ service: 'events', action: 'PutEvents', code: 'AccessDeniedException', message: 'no PutEvents on the bus' });
    const res = await post(a.links.approve);
    expect(res.status).toBe(200);
    expect(d.env.stepFunctions.task(a.token).status).toBe('SUCCEEDED');
    expect(await approvalItem(a)).toMatchObject({ status: 'DECIDED', outcome: 'APPROVED' });
    expect(await auditItem(a)).toBeUndefined();
    expect(logged(res.logs, 'decision delivered but write audit record failed')[0]).toMatchObject({
      level: 'ERROR', outcome: 'APPROVED', error: { name: 'AccessDeniedException', message: 'no PutItem on the audit table' },
    });
    expect(logged(res.logs, 'decision delivered but publish Approval Decided failed')[0]).toMatchObject({
      level: 'ERROR', error: { name: 'AccessDeniedException', message: 'no PutEvents on the bus' },
    });
    expect(metric(res.logs, 'ApprovalsDecided')).toBe(1);
  });
});

describe('Step Functions answers a decision with an error: the execution history tells what happened', () => {
  const serverError = { service: 'states', code: 'InternalServerError', message: 'We encountered an internal error. Please try again.', status: 500 } as const;

  test('SendTaskSuccess applied, then a 500: "your approval was applied", DECIDED, APPROVAL# record, event, attempt applied; a retry answers "already decided"', async () => {
    const a = await requested();
    d.env.wire.fail({ ...serverError, action: 'SendTaskSuccess', afterApply: true });
    const res = await post(a.links.approve, { comment: 'Fine', name: 'Ana' });
    expect(res.status).toBe(200);
    expect(res.body).toContain('Approved: the workflow continues. (Step Functions answered with an error, but the workflow&#39;s history shows your decision was applied.)');
    expect(writes()).toEqual(DECISION_WRITES('states:SendTaskSuccess:InternalServerError'));
    expect(executionReads()).toEqual(['states:GetExecutionHistory']);
    const decision = JSON.parse(d.env.stepFunctions.task(a.token).output!);
    expect(decision).toMatchObject({ outcome: 'APPROVED', approvalId: a.approvalId, approverName: 'Ana' });
    expect(await approvalItem(a)).toMatchObject({ status: 'DECIDED', outcome: 'APPROVED', approverName: 'Ana', comment: 'Fine', decidedAt: decision.decidedAt });
    expect(await auditItem(a)).toMatchObject({ outcome: 'APPROVED', approverName: 'Ana', comment: 'Fine', decidedAt: decision.decidedAt });
    expect(d.env.eventBridge.events().map((e) => e.detailType)).toEqual(['Approval Decided']);
    expect(metric(res.logs, 'ApprovalsDecided')).toBe(1);
    expect(await attemptsOf(a)).toEqual([expect.objectContaining({
      outcome: 'applied', httpStatus: 200, detail: 'Step Functions answered an error; the execution history shows the decision', decisionOutcome: 'APPROVED',
    })]);

    forgetCalls(d);
    const retry = await post(a.links.approve);
    expect(retry.status).toBe(409);
    expect(retry.body).toContain('Already decided');
    expect(retry.body).toContain('APPROVED');
    expect(writes()).toEqual(['dynamodb:PutItem']);
    expect(taskAnswers(a)).toEqual([{ action: 'SendTaskSuccess', at: expect.any(Date) }]);
  });

  test('SendTaskFailure applied, then a 500: the TaskFailed in the history is found: "applied", DECIDED REJECTED', async () => {
    const a = await requested();
    d.env.wire.fail({ ...serverError, action: 'SendTaskFailure', afterApply: true });
    const res = await post(a.links.reject, { comment: 'Not covered' });
    expect(res.status).toBe(200);
    expect(res.body).toContain('Rejected: the workflow records the rejection. (Step Functions answered with an error');
    expect(await approvalItem(a)).toMatchObject({ status: 'DECIDED', outcome: 'REJECTED' });
    expect(await auditItem(a)).toMatchObject({ outcome: 'REJECTED', comment: 'Not covered' });
  });

  test('a 500 before applying: the history has no decision and the execution runs: 503 "not applied", PENDING; the retry decides', async () => {
    const a = await requested();
    d.env.wire.fail({ ...serverError, action: 'SendTaskSuccess' });
    const res = await post(a.links.approve);
    expect(res.status).toBe(503);
    expect(res.body).toContain('Your decision was not applied');
    expect(res.body).not.toContain('Nothing was decided');
    expect(writes()).toEqual(['dynamodb:UpdateItem', 'dynamodb:PutItem', 'states:SendTaskSuccess:InternalServerError', 'dynamodb:UpdateItem', 'dynamodb:PutItem']);
    expect(executionReads()).toEqual(['states:GetExecutionHistory', 'states:DescribeExecution']);
    const item = await approvalItem(a);
    expect(item).toMatchObject({ status: 'PENDING' });
    expect(item).not.toHaveProperty('decidingAt');
    expect(await auditItem(a)).toBeUndefined();
    expect(d.env.stepFunctions.task(a.token).status).toBe('OPEN');
    expect(await attemptsOf(a)).toEqual([expect.objectContaining({ outcome: 'not-applied', detail: 'InternalServerError; the execution history shows no decision' })]);

    expect((await post(a.links.approve)).status).toBe(200);
    expect(d.env.stepFunctions.task(a.token).status).toBe('SUCCEEDED');
  });

  test('the history cannot be read (three attempts of the SDK): 503 "unknown", the approval stays DECIDING; after 60 s a request takes over and learns the truth', async () => {
    const a = await requested();
    d.env.wire.fail({ ...serverError, action: 'SendTaskSuccess', afterApply: true });
    d.env.wire.fail({ ...serverError, action: 'GetExecutionHistory', times: 3 });
    const res = await post(a.links.approve, { name: 'Ana' });
    expect(res.status).toBe(503);
    expect(res.body).toContain('it is not known whether your decision was applied');
    expect(res.body).not.toContain('Nothing was decided');
    expect(executionReads()).toEqual(Array(3).fill('states:GetExecutionHistory:InternalServerError'));
    expect(await approvalItem(a)).toMatchObject({ status: 'DECIDING', decidingAt: expect.any(Number) });
    expect(await auditItem(a)).toBeUndefined();
    expect(await attemptsOf(a)).toEqual([expect.objectContaining({
      outcome: 'unknown', httpStatus: 503, detail: 'InternalServerError; the execution history could not be read (InternalServerError)',
    })]);
    expect(logged(res.logs, 'whether the decision was applied is unknown: the execution history could not be read; the approval stays DECIDING')).toHaveLength(1);

    // a minute later (the DECIDING record is stale), another request takes over: its decision meets TaskTimedOut, the history has the first one
    await d.ddb.send(new UpdateCommand({
      TableName: APPROVALS(), Key: { approvalId: a.approvalId }, UpdateExpression: 'SET decidingAt = :t', ExpressionAttributeValues: { ':t': nowS() - 61 },
    }));
    forgetCalls(d);
    const later = await post(a.links.reject, { name: 'Bo' });
    expect(later.status).toBe(409);
    expect(later.body).toContain('This approval had already been decided by an earlier request');
    expect(writes()).toEqual(DECISION_WRITES('states:SendTaskFailure:TaskTimedOut'));
    expect(await approvalItem(a)).toMatchObject({ status: 'DECIDED', outcome: 'APPROVED', approverName: 'Ana' });
    expect(await auditItem(a)).toMatchObject({ outcome: 'APPROVED', approverName: 'Ana' });
    expect(d.env.stepFunctions.task(a.token).status).toBe('SUCCEEDED');
  });

  test('the decision lies pages back (the execution went on): the history is read newest first, page after page, until it is found', async () => {
    const a = await requested();
    d.env.wire.fail({ ...serverError, action: 'SendTaskSuccess', afterApply: true });
    d.env.wire.beforeNext('states', 'GetExecutionHistory', () => d.env.stepFunctions.addStateEvents(a.executionId, 1500));
    const res = await post(a.links.approve);
    expect(res.status).toBe(200);
    expect(executionReads()).toEqual(['states:GetExecutionHistory', 'states:GetExecutionHistory']);
    expect(d.env.wire.callsOf('states', 'GetExecutionHistory').map((c) => (c.input as any).nextToken === undefined)).toEqual([true, false]);
    expect(await approvalItem(a)).toMatchObject({ status: 'DECIDED' });
  });

  test('an error that may have been applied, and the execution has ended without the decision: 410, CLOSED, nothing decided', async () => {
    const a = await requested();
    d.env.wire.beforeNext('states', 'SendTaskSuccess', () => d.env.stepFunctions.closeExecution(a.executionId, { status: 'ABORTED' }));
    d.env.wire.fail({ ...serverError, action: 'SendTaskSuccess' });
    const res = await post(a.links.approve);
    expect(res.status).toBe(410);
    expect(res.body).toContain('Nothing was decided');
    expect(await approvalItem(a)).toMatchObject({ status: 'CLOSED', closedReason: 'execution ABORTED' });
  });
});

describe('every attempted decision is audited; comments over their limit are refused', () => {
  test('forged, expired, closed and decided links each leave an attempt record, the forged one apart from every execution', async () => {
    const decided = await requested();
    expect((await post(decided.links.approve)).status).toBe(200);
    const closed = await seeded({ status: 'CLOSED', closedReason: 'TaskTimedOut' });
    const expiredLink = link(decided.approvalId, 'reject', nowS() - 5);
    const forged = link(decided.approvalId, 'reject', nowS() + 600, { kid: key.kid, secret: `${key.secret}-forged` });

    forgetCalls(d);
    const answers = [
      await post(forged, { comment: 'let me in', name: 'Mallory' }),
      await post(expiredLink, { comment: 'too late' }),
      await post(closed.links.approve),
      await post(decided.links.reject, { comment: 'changed my mind' }),
    ];
    expect(answers.map((r) => r.status)).toEqual([403, 410, 410, 409]);
    expect(d.env.wire.callsOf('states')).toEqual([]);
    expect((await attemptsOf(decided)).map((r) => [r.outcome, r.action, r.comment])).toEqual([
      ['applied', 'approve', undefined], ['expired', 'reject', 'too late'], ['duplicate', 'reject', 'changed my mind'],
    ]);
    expect((await attemptsOf(closed)).map((r) => [r.outcome, r.detail])).toEqual([['closed', 'approval CLOSED (TaskTimedOut)']]);
    expect(await unattributed()).toContainEqual(expect.objectContaining({
      outcome: 'forged',
      claimedApprovalId: decided.approvalId,
      comment: 'let me in',
      approverName: 'Mallory',
      approver: 'link',
      httpStatus: 403,
      sourceIp: '203.0.113.7',
      userAgent: 'Mozilla/5.0 (wire test)',
      detail: 'signature mismatch',
    }));
    // none of them is mistaken for an execution's record
    expect((await unattributed()).every((r) => r.approvalId === undefined && r.stage === undefined)).toBe(true);
  });

  test('a comment over 1,000 characters: 400 naming the limit and the length, nothing sent to Step Functions, the attempt recorded with the full comment', async () => {
    const a = await requested();
    const comment = `${'x'.repeat(600)}\n${'y'.repeat(600)}`;
    const res = await confirmAndSubmit(a.links.approve, { comment, name: 'Ana' });
    expect(res.status).toBe(400);
    expect(res.body).toContain('The comment has 1201 characters; at most 1000 are accepted. Nothing was decided');
    expect(d.env.wire.callsOf('states')).toEqual([]);
    expect(writes()).toEqual(['dynamodb:PutItem']);
    expect(await approvalItem(a)).toMatchObject({ status: 'PENDING' });
    expect(await attemptsOf(a)).toEqual([expect.objectContaining({ outcome: 'comment-too-long', httpStatus: 400, comment, approverName: 'Ana' })]);

    const json = await call(apiEvent('POST', a.links.approve, {
      body: JSON.stringify({ ...Object.fromEntries(a.links.approve.searchParams), name: 'n'.repeat(101) }), contentType: 'application/json', accept: 'application/json',
    }));
    expect(json.status).toBe(400);
    expect(JSON.parse(json.body)).toMatchObject({ status: 'too-long', field: 'name', limit: 100, received: 101 });
    expect(d.env.stepFunctions.task(a.token).status).toBe('OPEN');
  });

  test('the attempt record cannot be written ahead: the decision is not sent (503, nothing decided), the approval back to PENDING', async () => {
    const a = await requested();
    d.env.wire.fail({ service: 'dynamodb', action: 'PutItem', code: 'com.amazonaws.dynamodb.v20120810#AccessDeniedException', message: 'no PutItem on the audit table' });
    const res = await post(a.links.approve);
    expect(res.status).toBe(503);
    expect(res.body).toContain('could not be recorded in the audit trail, so it was not sent. Nothing was decided');
    expect(d.env.wire.callsOf('states')).toEqual([]);
    expect(await approvalItem(a)).toMatchObject({ status: 'PENDING' });
    expect(await attemptsOf(a)).toEqual([expect.objectContaining({ outcome: 'not-applied', detail: 'not sent: the audit table could not be written (AccessDeniedException)' })]);
  });
});

describe('heartbeat ("I am reviewing")', () => {
  test('the reviewing link: GET changes nothing, POST sends SendTaskHeartbeat only; to a timed-out task 410, the approval unchanged', async () => {
    const a = await requested({ heartbeatSeconds: 3600 });
    expect(a.links.heartbeat).toBeDefined();
    const page = await get(a.links.heartbeat);
    expect(page.status).toBe(200);
    expect(page.body).toContain('<input type="hidden" name="action" value="heartbeat">');
    const res = await confirmAndSubmit(a.links.heartbeat);
    expect(res.status).toBe(200);
    expect(res.body).toContain('Noted: still reviewing');
    const task = d.env.stepFunctions.task(a.token);
    expect(task.status).toBe('OPEN');
    expect(task.heartbeats).toHaveLength(1);
    expect(writes()).toEqual(['states:SendTaskHeartbeat', 'dynamodb:PutItem']);
    expect(await attemptsOf(a)).toEqual([expect.objectContaining({ action: 'heartbeat', outcome: 'heartbeat', httpStatus: 200 })]);
    const before = await approvalItem(a);
    expect(before).toMatchObject({ status: 'PENDING' });

    d.env.stepFunctions.timeOutTask(a.token);
    forgetCalls(d);
    const late = await post(a.links.heartbeat);
    expect(late.status).toBe(410);
    expect(writes()).toEqual(['states:SendTaskHeartbeat:TaskTimedOut', 'dynamodb:PutItem']);
    expect(await approvalItem(a)).toEqual(before);
  });
});

describe('refused links change nothing', () => {
  test('forged 403 (nothing read), approve signature with action=reject 403, expired link 410 (nothing read on GET), unknown 404, CLOSED 410, past its expiry 410; each POST audited', async () => {
    const a = await requested();
    const exp = Number(a.links.approve.searchParams.get('exp'));
    const forged = link(a.approvalId, 'approve', exp, { kid: key.kid, secret: `${key.secret}-not-the-key` });
    const swapped = new URL(a.links.approve);
    swapped.searchParams.set('action', 'reject');
    const closed = await seeded({ status: 'CLOSED', closedReason: 'TaskTimedOut' });
    const expired = await seeded({ expiresAt: nowS() - 1 });
    // [name, link, status, calls of a GET, calls of a POST (its attempt record last), where the POST's attempt is recorded]
    const cases: Array<[string, URL, number, string[], string[], string]> = [
      ['forged', forged, 403, [], ['dynamodb:PutItem'], 'unattributed'],
      ['swapped action', swapped, 403, [], ['dynamodb:PutItem'], 'unattributed'],
      // an expired link is authentic: the POST reads its approval to record the attempt with its execution
      ['expired link', link(a.approvalId, 'approve', nowS() - 10), 410, [], ['dynamodb:GetItem', 'dynamodb:PutItem'], a.executionId],
      ['unknown approval', link(approvalIdOf(d.env.stepFunctions.unknownTaskToken()), 'approve', exp), 404, ['dynamodb:GetItem'], ['dynamodb:GetItem', 'dynamodb:PutItem'], 'unattributed'],
      ['closed', closed.links.approve, 410, ['dynamodb:GetItem'], ['dynamodb:GetItem', 'dynamodb:PutItem'], closed.executionId],
      ['past its expiry', expired.links.approve, 410, ['dynamodb:GetItem'], ['dynamodb:GetItem', 'dynamodb:PutItem'], expired.executionId],
    ];
    let refusals = 0;
    const recorded: Array<[string, string]> = [];
    for (const [name, url, status, getCalls, postCalls, where] of cases) {
      for (const [method, send, calls] of [['GET', () => get(url), getCalls], ['POST', () => post(url), postCalls]] as const) {
        forgetCalls(d);
        const res = await send();
        expect({ name, method, status: res.status }).toEqual({ name, method, status });
        expect(actions().filter((c) => !c.startsWith('secretsmanager:'))).toEqual(calls);
        refusals += metric(res.logs, 'RejectedApprovalLinks');
      }
      const partitionKey = where === 'unattributed' ? `unattributed#${new Date().toISOString().slice(0, 10)}` : where;
      const [attempt] = (await partition(d, AUDIT(), 'executionId', partitionKey)).filter((r) => r.recordId.startsWith('ATTEMPT#') && r.httpStatus === status).slice(-1);
      recorded.push([name, attempt?.outcome]);
    }
    expect(recorded).toEqual([
      ['forged', 'forged'], ['swapped action', 'forged'], ['expired link', 'expired'], ['unknown approval', 'not-found'], ['closed', 'closed'], ['past its expiry', 'expired'],
    ]);
    // forged, swapped, expired and unknown are counted as refused links (GET and POST)
    expect(refusals).toBe(8);
    expect(d.env.stepFunctions.task(a.token).calls).toEqual([]);
    expect(await approvalItem(a)).toMatchObject({ status: 'PENDING' });
  });

  test('malformed links and bodies: 400, nothing read or sent', async () => {
    const a = await requested();
    const u = a.links.approve;
    const noSig = new URL(u);
    noSig.searchParams.delete('sig');
    const badExp = new URL(u);
    badExp.searchParams.set('exp', 'tomorrow');
    const form = new URLSearchParams(Object.fromEntries(u.searchParams)).toString();
    const answers = [
      await get(noSig),
      await get(badExp),
      await post(u, {}, { body: form, contentType: 'text/plain' }),
      await post(u, { comment: 'x'.repeat(20_000) }),
      await post(u, {}, { body: '{"action":', contentType: 'application/json' }),
      await post(u, {}, { body: JSON.stringify({ ...Object.fromEntries(u.searchParams), comment: { text: 'hi' } }), contentType: 'application/json' }),
    ];
    expect(answers.map((r) => r.status)).toEqual([400, 400, 400, 400, 400, 400]);
    // the four POSTs are audited, nothing else is written
    expect(writes()).toEqual(Array(4).fill('dynamodb:PutItem'));
    expect(d.env.stepFunctions.task(a.token).calls).toEqual([]);
  });

  test('an unknown route is 404 and another method 405 (Allow: GET, POST), nothing read', async () => {
    const a = await requested();
    const other = await call({ ...apiEvent('GET', a.links.approve), resource: '/{proxy+}', path: '/admin', pathParameters: null });
    expect(other.status).toBe(404);
    const put = await call(apiEvent('PUT', a.links.approve));
    expect(put.status).toBe(405);
    expect(put.result.headers.Allow).toBe('GET, POST');
    expect(actions()).toEqual([]);
  });
});

describe('who decided, and how clients are answered', () => {
  test('an IAM caller and a Cognito user are the approver in the decision and the audit record; an escalation decided by link is link:escalation', async () => {
    const userArn = 'arn:aws:sts::123456789012:assumed-role/Adjusters/ana';
    const iam = await requested();
    expect((await post(iam.links.approve, { name: 'Ana' }, { userArn })).status).toBe(200);
    expect(JSON.parse(d.env.stepFunctions.task(iam.token).output!)).toMatchObject({ approver: `iam:${userArn}`, approverName: 'Ana' });
    expect(await auditItem(iam)).toMatchObject({ approver: `iam:${userArn}`, approverName: 'Ana' });

    const cognito = await requested();
    expect((await post(cognito.links.reject, {}, { claims: { email: 'ana@example.com', sub: 'uuid-1' } })).status).toBe(200);
    expect(await auditItem(cognito)).toMatchObject({ approver: 'cognito:ana@example.com', outcome: 'REJECTED' });

    const escalated = await requested({ state: 'Escalate Approval' });
    expect((await post(escalated.links.approve)).status).toBe(200);
    expect(await auditItem(escalated)).toMatchObject({ approver: 'link:escalation', stage: 'escalation' });
    expect(d.env.eventBridge.events().map((e) => e.detail.stage)).toEqual(['escalation']);
  });

  test('the Approval Decided event carries an identity claim cleaned: one line, no control or bidi characters', async () => {
    const approval = await requested();
    const hostile = { email: 'ana@example.com\n\u202eApproved-by: ceo@example.com\u0007', sub: 'uuid-1' };
    expect((await post(approval.links.approve, {}, { claims: hostile })).status).toBe(200);
    const decided = d.env.eventBridge.events().filter((e) => e.detailType === 'Approval Decided' && e.detail.approvalId === approval.approvalId);
    expect(decided.map((e) => e.detail)).toEqual([expect.objectContaining({
      approver: 'cognito:ana@example.com Approved-by: ceo@example.com', executionId: approval.executionId, outcome: 'APPROVED',
    })]);
    // eslint-disable-next-line no-control-regex
    expect(decided[0].detailText).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u202a-\u202e]|\\u00(0|1)[0-9a-f]|\\n/i);
  });

  test('Accept: application/json answers JSON; a JSON body with exp as a number decides', async () => {
    const a = await requested({ reason: '<script>alert("x")</script>' });
    const page = await get(a.links.approve, { accept: 'application/json' });
    expect(page.result.headers['Content-Type']).toBe('application/json; charset=utf-8');
    expect(JSON.parse(page.body)).toMatchObject({ status: 'confirm', action: 'approve', reason: '<script>alert("x")</script>' });
    const html = await get(a.links.approve);
    expect(html.body).not.toContain('<script>');
    expect(html.body).toContain('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;');

    const u = a.links.approve;
    const res = await call(apiEvent('POST', u, {
      body: JSON.stringify({ action: 'approve', exp: Number(u.searchParams.get('exp')), sig: u.searchParams.get('sig') }),
      contentType: 'application/json',
      accept: 'application/json',
    }));
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body)).toMatchObject({ status: 'decided', outcome: 'APPROVED', approver: 'link:primary' });
    expect(d.env.stepFunctions.task(a.token).status).toBe('SUCCEEDED');
  });

  test('no log line of any scenario above holds a task token, a link signature or the signing key', () => {
    expect(allLogs.length).toBeGreaterThan(30);
    expect(secrets.size).toBeGreaterThan(20);
    const text = JSON.stringify(allLogs);
    expect(text).toContain('<task token>');
    for (const secret of secrets) expect(text).not.toContain(secret);
    expect(text).not.toContain(key.secret);
  });
});
