/**
 * The approval endpoint at the wire: the insurance-claims example's endpoint function behind API
 * Gateway proxy events built from the links the approval-request function really mailed (through
 * the SNS fake), the confirm page's form posted back as a browser does, DynamoDB in dynalite, task
 * tokens in the Step Functions fake. Every scenario of test/agent-workflow/approval-endpoint.test.ts
 * that touches AWS, with the real clients: GET changes nothing, POST decides exactly once
 * (conditional write, then SendTaskSuccess / SendTaskFailure), refused links, Step Functions
 * answers, throttling, a crashed decision taken over, concurrent posts, heartbeats, bookkeeping.
 */
import { SendTaskSuccessCommand, SFNClient } from '@aws-sdk/client-sfn';
import { PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { AgentStack, claimsStack, deploy, Deployed, emf, forgetCalls, itemOf, logged, materialize, partition, secretValue, undeploy } from './agent-stack';
import { APPROVAL_REJECTED_ERROR } from '../../../src/agent-workflow/runtime/contracts';
import { approvalIdFor, LinkAction, signLink } from '../../../src/agent-workflow/runtime/link-signing';
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
let key: string;
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
  key = secretValue(d, endpointFn.environment.SIGNING_SECRET_ARN);
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
  const approvalId = approvalIdFor(key, token);
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

function link(approvalId: string, action: LinkAction, exp: number, signingKey = key): URL {
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
const writes = () => actions().filter((a) => /^dynamodb:(PutItem|UpdateItem)|^states:|^events:/.test(a));
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
    expect(writes()).toEqual(['dynamodb:UpdateItem', 'states:SendTaskSuccess', 'dynamodb:UpdateItem', 'dynamodb:PutItem', 'events:PutEvents']);
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
    expect(writes()).toEqual([]);
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
    expect(writes()).toEqual(['dynamodb:UpdateItem', 'states:SendTaskFailure', 'dynamodb:UpdateItem', 'dynamodb:PutItem', 'events:PutEvents']);
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
    expect(await partition(d, AUDIT(), 'executionId', a.executionId)).toHaveLength(1);
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
    expect(writes()).toEqual(['dynamodb:UpdateItem:HTTP 400']);
    expect(d.env.stepFunctions.task(a.token).calls).toEqual([]);
  });

  test('DECIDING for under a minute is refused; left by a crashed request (over 60 s) it is taken over; if that request had delivered, 410 says so', async () => {
    const fresh = await seeded({ status: 'DECIDING', decidingAt: nowS() - 10 });
    expect((await post(fresh.links.approve)).status).toBe(409);
    expect(writes()).toEqual([]);

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
    await sfn.send(new SendTaskSuccessCommand({ taskToken: delivered.token, output: '{"outcome":"APPROVED"}' }));
    const after = await post(delivered.links.approve);
    expect(after.status).toBe(410);
    expect(after.body).toContain('an earlier attempt may already have decided it');
    expect(await approvalItem(delivered)).toMatchObject({ status: 'CLOSED', closedReason: 'TaskTimedOut' });
    expect(JSON.parse(d.env.stepFunctions.task(delivered.token).output!)).toEqual({ outcome: 'APPROVED' });
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
    expect(writes()).toEqual(['dynamodb:UpdateItem', `states:SendTaskSuccess:${errorCode}`, 'dynamodb:UpdateItem']);
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
    expect(writes()).toEqual([]);
  });

  test('throttled SendTaskSuccess: 503 try again (one attempt, no SDK retry), the approval back to PENDING; the retry decides', async () => {
    const a = await requested();
    d.env.wire.fail({ service: 'states', action: 'SendTaskSuccess', code: 'ThrottlingException', message: `Rate exceeded for ${a.token}` });
    const res = await post(a.links.approve);
    expect(res.status).toBe(503);
    expect(res.body).toContain('Please try again');
    expect(writes()).toEqual(['dynamodb:UpdateItem', 'states:SendTaskSuccess:ThrottlingException', 'dynamodb:UpdateItem']);
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
    expect(writes()).toEqual([]);
    expect(logged(res.logs, 'approval request could not be handled; nothing was decided')[0].error).toEqual({ name: 'InternalServerError', message: 'internal' });
    expect(await approvalItem(a)).toMatchObject({ status: 'PENDING' });
  });

  test('after a delivered decision, a failed audit write and a failed event are logged with their causes; the answer is 200, the approval DECIDED', async () => {
    const a = await requested();
    d.env.wire.fail({ service: 'dynamodb', action: 'PutItem', code: 'com.amazonaws.dynamodb.v20120810#AccessDeniedException', message: 'no PutItem on the audit table' });
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
    expect(writes()).toEqual(['states:SendTaskHeartbeat']);
    const before = await approvalItem(a);
    expect(before).toMatchObject({ status: 'PENDING' });

    d.env.stepFunctions.timeOutTask(a.token);
    forgetCalls(d);
    const late = await post(a.links.heartbeat);
    expect(late.status).toBe(410);
    expect(writes()).toEqual(['states:SendTaskHeartbeat:TaskTimedOut']);
    expect(await approvalItem(a)).toEqual(before);
  });
});

describe('refused links change nothing', () => {
  test('forged 403 (no DynamoDB call), approve signature with action=reject 403, expired link 410 (nothing read), unknown 404, CLOSED 410, past its expiry 410', async () => {
    const a = await requested();
    const exp = Number(a.links.approve.searchParams.get('exp'));
    const forged = link(a.approvalId, 'approve', exp, `${key}-not-the-key`);
    const swapped = new URL(a.links.approve);
    swapped.searchParams.set('action', 'reject');
    const cases: Array<[string, URL, number, string[]]> = [
      ['forged', forged, 403, []],
      ['swapped action', swapped, 403, []],
      ['expired link', link(a.approvalId, 'approve', nowS() - 10), 410, []],
      ['unknown approval', link(approvalIdFor(key, d.env.stepFunctions.unknownTaskToken()), 'approve', exp), 404, ['dynamodb:GetItem']],
      ['closed', (await seeded({ status: 'CLOSED', closedReason: 'TaskTimedOut' })).links.approve, 410, ['dynamodb:GetItem']],
      ['past its expiry', (await seeded({ expiresAt: nowS() - 1 })).links.approve, 410, ['dynamodb:GetItem']],
    ];
    let refusals = 0;
    for (const [name, url, status, calls] of cases) {
      for (const send of [() => get(url), () => post(url)]) {
        forgetCalls(d);
        const res = await send();
        expect({ name, status: res.status }).toEqual({ name, status });
        expect(actions().filter((c) => !c.startsWith('secretsmanager:'))).toEqual(calls);
        refusals += metric(res.logs, 'RejectedApprovalLinks');
      }
    }
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
    expect(writes()).toEqual([]);
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
    expect(text).not.toContain(key);
  });
});
