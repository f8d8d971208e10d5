/**
 * Signing-key rotation at the wire: the insurance-claims example's rotation function
 * (src/agent-workflow/runtime/signing-key-rotation.lambda.ts as bundled into the assembly, real SDK) driven through createSecret / setSecret / testSecret / finishSecret against the Secrets
 * Manager fake as Secrets Manager drives it (RotateSecret labels a new version id AWSPENDING, then
 * invokes each step with it), retried steps included; then a rotation in the middle of a pending
 * approval: the request function mails links signed with key 1, the secret rotates, the endpoint
 * still accepts the old links, a retried request finds the same approval and mails nobody, a
 * second rotation retires key 1 and its links answer 410 "retired" (nothing decided).
 */
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { AgentStack, claimsStack, deploy, Deployed, forgetCalls, itemOf, materialize, signingKeyOf, undeploy } from './agent-stack';
import { approvalIdOf, SigningKey } from '../../../src/agent-workflow/runtime/link-signing';
import { LocalLambda, LogLine } from '../../harness/aws/lambda-runner';
import { StackFunction } from '../../harness/aws/stack-model';

// Synthesizes a stack and starts the local services in beforeAll; runs bundled handlers as child processes.
jest.setTimeout(60_000);

let claims: AgentStack;
let d: Deployed;
let rotationFn: StackFunction;
let requestFn: StackFunction;
let endpointFn: StackFunction;
let arn: string;
let bucket: string;
const allLogs: LogLine[] = [];

beforeAll(async () => {
  claims = await claimsStack();
  bucket = claims.task('Validate Input').rules.bucket;
  rotationFn = claims.fn('signingKeyRotation');
  requestFn = claims.fn('approvalRequest');
  endpointFn = claims.fn('approvalEndpoint');
  d = await deploy(claims);
  arn = rotationFn.environment.SIGNING_SECRET_ARN;
});
afterAll(() => undeploy(d));
beforeEach(() => forgetCalls(d));

const actions = () => d.env.wire.calls.map((c) => `${c.service}:${c.action}${c.error ? `:${c.error}` : ''}`);
/** The labelled versions of the signing secret: version id → sorted labels. */
const stagesOf = () => Object.fromEntries(d.env.secretsManager.secret(arn)!.versions
  .filter((v) => v.stages.length > 0)
  .map((v) => [v.versionId, [...v.stages].sort()]));

async function run(fn: LocalLambda, event: unknown) {
  const out = await fn.invoke(event);
  allLogs.push(...out.logs);
  return out;
}

/** One rotation as Secrets Manager runs it: a new AWSPENDING version id, then the four steps in order. Returns the new key. */
async function rotate(fn: LocalLambda): Promise<SigningKey> {
  const token = d.env.secretsManager.startRotation(arn);
  for (const Step of ['createSecret', 'setSecret', 'testSecret', 'finishSecret']) {
    const out = await run(fn, { Step, SecretId: arn, ClientRequestToken: token });
    if (out.error) throw new Error(`${Step} failed: ${JSON.stringify(out.error)}`);
  }
  return signingKeyOf(d, arn);
}

describe('the rotation function, step by step', () => {
  test('createSecret stores a new random key as AWSPENDING; retried, it writes nothing', async () => {
    const fn = d.env.lambda(rotationFn);
    const before = signingKeyOf(d, arn);
    const token = d.env.secretsManager.startRotation(arn);
    const step = (Step: string) => run(fn, { Step, SecretId: arn, ClientRequestToken: token });

    expect((await step('createSecret')).error).toBeUndefined();
    expect(actions()).toEqual([
      'secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue', 'secretsmanager:GetSecretValue:ResourceNotFoundException', 'secretsmanager:PutSecretValue',
    ]);
    const put = d.env.wire.callsOf('secretsmanager', 'PutSecretValue')[0].input as Record<string, unknown>;
    expect(put).toMatchObject({ SecretId: arn, ClientRequestToken: token, VersionStages: ['AWSPENDING'], SecretString: '<redacted>' });
    const pending = d.env.secretsManager.versionWithStage(arn, 'AWSPENDING')!;
    expect(pending.versionId).toBe(token);
    expect(pending.secretString).toMatch(/^[A-Za-z0-9]{64}$/);
    expect(pending.secretString).not.toBe(before.secret);
    // nothing changed for the signers yet
    expect(signingKeyOf(d, arn)).toEqual(before);

    forgetCalls(d);
    expect((await step('createSecret')).error).toBeUndefined();
    expect(actions()).toEqual(['secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue', 'secretsmanager:GetSecretValue']);
    expect(d.env.secretsManager.versionWithStage(arn, 'AWSPENDING')!.secretString).toBe(pending.secretString);

    forgetCalls(d);
    expect((await step('setSecret')).error).toBeUndefined();
    expect(actions()).toEqual(['secretsmanager:DescribeSecret']);

    forgetCalls(d);
    expect((await step('testSecret')).error).toBeUndefined();
    expect(actions()).toEqual(['secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue']);

    forgetCalls(d);
    expect((await step('finishSecret')).error).toBeUndefined();
    expect(actions()).toEqual(['secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue', 'secretsmanager:UpdateSecretVersionStage']);
    expect(d.env.wire.callsOf('secretsmanager', 'UpdateSecretVersionStage')[0].input)
      .toEqual({ SecretId: arn, VersionStage: 'AWSCURRENT', MoveToVersionId: token, RemoveFromVersionId: before.kid });
    expect(stagesOf()).toEqual({ [before.kid]: ['AWSPREVIOUS'], [token]: ['AWSCURRENT', 'AWSPENDING'] });
    expect(signingKeyOf(d, arn)).toEqual({ kid: token, secret: pending.secretString });

    // every step retried after the rotation finished: nothing more is written
    forgetCalls(d);
    for (const s of ['createSecret', 'setSecret', 'testSecret', 'finishSecret']) expect((await step(s)).error).toBeUndefined();
    expect(actions()).toEqual(Array(4).fill('secretsmanager:DescribeSecret'));
    expect(stagesOf()).toEqual({ [before.kid]: ['AWSPREVIOUS'], [token]: ['AWSCURRENT', 'AWSPENDING'] });
  });

  test('a rotation of another secret, or of a version not AWSPENDING, is refused and changes nothing', async () => {
    const fn = d.env.lambda(rotationFn);
    const other = d.env.secretsManager.createSecret('someone-elses-secret', 'x'.repeat(64));
    const foreign = d.env.secretsManager.startRotation(other);
    const out = await run(fn, { Step: 'createSecret', SecretId: other, ClientRequestToken: foreign });
    expect(out.error).toMatchObject({ errorType: 'RotationRefused', errorMessage: expect.stringContaining(`this function rotates only ${arn}`) });
    expect(actions()).toEqual([]);

    const current = signingKeyOf(d, arn);
    const notPending = await run(fn, { Step: 'finishSecret', SecretId: arn, ClientRequestToken: '99999999-9999-4999-8999-999999999999' });
    expect(notPending.error).toMatchObject({ errorType: 'RotationRefused', errorMessage: expect.stringContaining('has no staging label') });
    expect(actions()).toEqual(['secretsmanager:DescribeSecret']);
    expect(signingKeyOf(d, arn)).toEqual(current);
  });
});

// ---------------------------------------------------------------------------------------------

const EXECUTION = 'arn:aws:states:us-east-1:123456789012:execution:InsuranceClaims-08AA855B:claim-rotation';
const nowS = () => Math.floor(Date.now() / 1000);

function approvalEvent(token: string): Record<string, unknown> {
  const input = {
    verdict: { reason: 'estimated_cost > policy.autoApproveLimit' },
    validation: { bucket, key: 'claims/2026/claim-9.jpg', versionId: null },
    reasoning: { fields: { damage_type: 'dent', estimated_cost: 2400 }, summary: 'A dent in the rear door.' },
    tools: { policy: { autoApproveLimit: 1000 } },
  };
  return materialize(claims.task('Request Approval'), input, { Task: { Token: token }, Execution: { Id: EXECUTION } });
}

const linksIn = (message: string): Record<string, URL> =>
  Object.fromEntries([...message.matchAll(/https:\/\/\S+\/approvals\/\S+/g)].map((m) => new URL(m[0])).map((u) => [u.searchParams.get('action')!, u]));

/** The API Gateway proxy event for a request to a link (GET: the query; POST: the form the confirm page posts). */
function apiEvent(method: 'GET' | 'POST', url: URL): APIGatewayProxyEvent {
  const stagePath = new URL(requestFn.environment.ENDPOINT_URL).pathname;
  const path = `/${url.pathname.slice(stagePath.length)}`;
  const id = decodeURIComponent(path.split('/')[2]);
  const fields = { action: url.searchParams.get('action')!, exp: url.searchParams.get('exp')!, sig: url.searchParams.get('sig')! };
  return {
    httpMethod: method,
    resource: '/approvals/{id}',
    path,
    pathParameters: { id },
    queryStringParameters: method === 'GET' ? fields : null,
    multiValueQueryStringParameters: null,
    headers: method === 'POST' ? { 'Content-Type': 'application/x-www-form-urlencoded' } : {},
    multiValueHeaders: {},
    body: method === 'POST' ? new URLSearchParams(fields).toString() : null,
    isBase64Encoded: false,
    stageVariables: null,
    requestContext: { stage: 'v1', httpMethod: method, path: url.pathname, requestId: `req-${Math.random().toString(16).slice(2)}`, identity: { sourceIp: '203.0.113.7' } },
  } as unknown as APIGatewayProxyEvent;
}

async function call(endpoint: LocalLambda, method: 'GET' | 'POST', url: URL): Promise<{ status: number; body: string }> {
  const out = await run(endpoint, apiEvent(method, url));
  if (out.error) throw new Error(`the endpoint threw: ${JSON.stringify(out.error)}`);
  return { status: out.result.statusCode, body: out.result.body };
}

describe('a rotation in the middle of a pending approval', () => {
  test('old links keep working after one rotation, a retried request mails nobody, a second rotation retires key 1 (410, nothing decided)', async () => {
    const rotator = d.env.lambda(rotationFn);
    const request = d.env.lambda(requestFn);
    const endpoint = d.env.lambda(endpointFn);
    const key1 = signingKeyOf(d, arn);

    // the approval is requested: links signed with key 1, which they name
    const token = d.env.stepFunctions.issueTaskToken({ executionArn: EXECUTION });
    const first = await run(request, approvalEvent(token));
    expect(first.error).toBeUndefined();
    const approvalId = first.result.approvalId;
    expect(approvalId).toBe(approvalIdOf(token));
    const mails = () => d.env.sns.published().filter((m) => m.message.includes(approvalId));
    expect(mails()).toHaveLength(1);
    const links = linksIn(mails()[0].message);
    expect(links.approve.searchParams.get('sig')).toMatch(new RegExp(`^${key1.kid}\\.[A-Za-z0-9_-]{43}$`));
    // the endpoint container reads the keys now (key 1 only) and keeps them
    expect((await call(endpoint, 'GET', links.approve)).status).toBe(200);

    // rotation 1: key 2 is current, key 1 previous
    const key2 = await rotate(rotator);
    expect(key2.kid).not.toBe(key1.kid);
    expect(stagesOf()).toMatchObject({ [key1.kid]: ['AWSPREVIOUS'], [key2.kid]: ['AWSCURRENT', 'AWSPENDING'] });

    // the old links still open, in the warm container and in a new one (key 1 as AWSPREVIOUS)
    forgetCalls(d);
    expect((await call(endpoint, 'GET', links.approve)).status).toBe(200);
    const fresh = d.env.lambda(endpointFn);
    expect((await call(fresh, 'GET', links.reject)).status).toBe(200);
    // the new container read both labels (in parallel); the warm one still had key 1
    const reads = d.env.wire.callsOf('secretsmanager', 'GetSecretValue').map((c) => c.input as Record<string, string>);
    expect(reads.map((r) => r.VersionStage).sort()).toEqual(['AWSCURRENT', 'AWSPREVIOUS']);
    expect(reads.every((r) => r.SecretId === arn && r.VersionId === undefined)).toBe(true);

    // the request retried after the rotation (a new container, so it reads key 2): same approval, nobody mailed again
    forgetCalls(d);
    const retried = await run(d.env.lambda(requestFn), approvalEvent(token));
    expect(retried.error).toBeUndefined();
    expect(retried.result).toEqual(first.result);
    expect(d.env.sns.published()).toEqual([]);
    expect(actions().filter((a) => a.startsWith('sns:') || a === 'dynamodb:UpdateItem')).toEqual([]);

    // a new approval is signed with key 2; the warm endpoint, which holds key 1 only, reads key 2 by its VersionId
    const token2 = d.env.stepFunctions.issueTaskToken({ executionArn: `${EXECUTION}-2` });
    const second = await run(d.env.lambda(requestFn), approvalEvent(token2));
    const links2 = linksIn(d.env.sns.published().find((m) => m.message.includes(second.result.approvalId))!.message);
    expect(links2.approve.searchParams.get('sig')!.startsWith(`${key2.kid}.`)).toBe(true);
    forgetCalls(d);
    expect((await call(endpoint, 'GET', links2.approve)).status).toBe(200);
    expect(d.env.wire.callsOf('secretsmanager', 'GetSecretValue').map((c) => c.input)).toEqual([{ SecretId: arn, VersionId: key2.kid }]);

    // rotation 2: key 3 current, key 2 previous, key 1 retired
    const key3 = await rotate(rotator);
    expect(stagesOf()).toEqual({ [key2.kid]: ['AWSPREVIOUS'], [key3.kid]: ['AWSCURRENT', 'AWSPENDING'] });

    // key 1's links: 410 "signed with a key that has since been retired", GET and POST; nothing decided
    forgetCalls(d);
    const cold = d.env.lambda(endpointFn);
    for (const method of ['GET', 'POST'] as const) {
      const res = await call(cold, method, links.approve);
      expect(res.status).toBe(410);
      expect(res.body).toContain('This link was signed with a key that has since been retired by a key rotation. Nothing was decided.');
    }
    expect(d.env.stepFunctions.task(token).calls).toEqual([]);
    expect(d.env.stepFunctions.task(token).status).toBe('OPEN');
    expect((await itemOf(d, endpointFn.environment.APPROVALS_TABLE, { approvalId }))!.status).toBe('PENDING');
    // the endpoint looked the retired version up by its id (to tell it from a forged one)
    expect(d.env.wire.callsOf('secretsmanager', 'GetSecretValue').map((c) => c.input)).toContainEqual({ SecretId: arn, VersionId: key1.kid });
    expect(actions().filter((a) => a.startsWith('states:'))).toEqual([]);

    // key 2's links still decide
    const decided = await call(cold, 'POST', links2.approve);
    expect(decided.status).toBe(200);
    expect(d.env.stepFunctions.task(token2).status).toBe('SUCCEEDED');
  });

  test('no log line of any scenario above holds a signing key', () => {
    const text = JSON.stringify(allLogs);
    for (const v of d.env.secretsManager.secret(arn)!.versions) {
      if (v.secretString) expect(text).not.toContain(v.secretString);
    }
    expect(allLogs.length).toBeGreaterThan(0);
    expect(nowS()).toBeGreaterThan(0);
  });
});
