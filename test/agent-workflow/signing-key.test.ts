/**
 * The signing keys across rotations, with command-level fakes: the loader (AWSCURRENT and
 * AWSPREVIOUS cached, an unknown key id looked up by VersionId), the approval endpoint meeting
 * links signed before and after rotations, and the approval request retried after a rotation.
 */
import { GetSecretValueCommand, GetSecretValueCommandInput, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { awsError, FakeAgentAws } from './fake-agent-aws';
import { ApprovalEndpointDeps, handle as endpointHandle, readApprovalEndpointConfig } from '../../src/agent-workflow/runtime/approval-endpoint.lambda';
import { ApprovalRequestDeps, handle as requestHandle, readApprovalRequestConfig } from '../../src/agent-workflow/runtime/approval-request.lambda';
import {
  approvalIdOf, fixedSigningKeys, LinkAction, signLegacyLink, signLink, SigningKey, SigningKeySource,
} from '../../src/agent-workflow/runtime/link-signing';
import { signingKeyLoader } from '../../src/agent-workflow/runtime/signing-key';

const ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:signing-AbCdEf';
const NOW = new Date('2026-07-01T12:00:00Z');
const NOW_S = NOW.getTime() / 1000;

/** A secret in memory that answers GetSecretValue as Secrets Manager does (by label or version id). */
class Secret {
  public readonly versions: Array<{ id: string; value: string; stages: string[] }> = [];
  private n = 0;
  private readonly mock: ReturnType<typeof mockClient>;
  constructor(public readonly client: SecretsManagerClient, first: string) {
    this.put(first);
    this.mock = mockClient(client);
    this.mock.on(GetSecretValueCommand).callsFake((input: GetSecretValueCommandInput) => {
      if (input.SecretId !== ARN) throw awsError('ResourceNotFoundException', "Secrets Manager can't find the specified secret.");
      const v = input.VersionId
        ? this.versions.find((x) => x.id === input.VersionId && (!input.VersionStage || x.stages.includes(input.VersionStage)))
        : this.versions.find((x) => x.stages.includes(input.VersionStage ?? 'AWSCURRENT'));
      if (!v) throw awsError('ResourceNotFoundException', "Secrets Manager can't find the specified secret value");
      return { ARN, VersionId: v.id, SecretString: v.value, VersionStages: [...v.stages] };
    });
  }
  /** A new AWSCURRENT version (AWSPREVIOUS moves to the one before): what a rotation leaves. */
  public put(value: string): SigningKey {
    const id = `${String(++this.n).padStart(8, '0')}-0000-4000-8000-000000000000`;
    for (const v of this.versions) v.stages = v.stages.filter((s) => s !== 'AWSPREVIOUS').map((s) => (s === 'AWSCURRENT' ? 'AWSPREVIOUS' : s));
    this.versions.push({ id, value, stages: ['AWSCURRENT'] });
    return { kid: id, secret: value };
  }
  public key(index: number): SigningKey {
    return { kid: this.versions[index].id, secret: this.versions[index].value };
  }
  public reads(): GetSecretValueCommandInput[] {
    return this.mock.commandCalls(GetSecretValueCommand).map((c) => c.args[0].input as GetSecretValueCommandInput);
  }
}

const keyValue = (c: string) => c.repeat(64);

describe('signingKeyLoader', () => {
  let clock = 0;
  const options = { nowMs: () => clock };
  beforeEach(() => {
    clock = 0;
  });

  test('reads AWSCURRENT and AWSPREVIOUS once per 5 minutes; each key is named by its VersionId', async () => {
    const secret = new Secret(new SecretsManagerClient({}), keyValue('a'));
    const k2 = secret.put(keyValue('b'));
    const loader = signingKeyLoader(secret.client, ARN, options);
    expect(await loader.keys()).toEqual({ current: k2, previous: secret.key(0) });
    await loader.keys();
    expect(secret.reads()).toEqual([{ SecretId: ARN, VersionStage: 'AWSCURRENT' }, { SecretId: ARN, VersionStage: 'AWSPREVIOUS' }]);
    clock = 300_000;
    await loader.keys();
    expect(secret.reads()).toHaveLength(4);
  });

  test('a signer (previous: false) reads AWSCURRENT only', async () => {
    const secret = new Secret(new SecretsManagerClient({}), keyValue('a'));
    const k2 = secret.put(keyValue('b'));
    expect(await signingKeyLoader(secret.client, ARN, { ...options, previous: false }).keys()).toEqual({ current: k2 });
    expect(secret.reads()).toEqual([{ SecretId: ARN, VersionStage: 'AWSCURRENT' }]);
  });

  test('a secret never rotated has no previous key', async () => {
    const secret = new Secret(new SecretsManagerClient({}), keyValue('a'));
    expect(await signingKeyLoader(secret.client, ARN, options).keys()).toEqual({ current: secret.key(0) });
  });

  test('a previous version that could not have signed a link (too short) is ignored; a short current one is an error', async () => {
    const secret = new Secret(new SecretsManagerClient({}), 'short');
    await expect(signingKeyLoader(secret.client, ARN, options).keys())
      .rejects.toThrow('the signing secret must hold a SecretString of at least 32 characters (version AWSCURRENT)');
    const k2 = secret.put(keyValue('b'));
    expect(await signingKeyLoader(secret.client, ARN, options).keys()).toEqual({ current: k2 });
  });

  test('lookup: an active version (the cache is out of date) is found and the cache dropped; a retired one is found inactive; others not', async () => {
    const secret = new Secret(new SecretsManagerClient({}), keyValue('a'));
    const loader = signingKeyLoader(secret.client, ARN, options);
    const k1 = (await loader.keys()).current;
    const k2 = secret.put(keyValue('b'));
    expect(await loader.keys()).toEqual({ current: k1 });
    expect(await loader.lookup(k2.kid)).toEqual({ key: k2, active: true });
    // dropped: read again on the next call, within the 5 minutes
    expect(await loader.keys()).toEqual({ current: k2, previous: k1 });
    secret.put(keyValue('c'));
    expect(await loader.lookup(k1.kid)).toEqual({ key: k1, active: false });
    expect(await loader.lookup('99999999-0000-4000-8000-000000000000')).toEqual({ active: false });
    const before = secret.reads().length;
    // not the shape of a version id: not even asked
    expect(await loader.lookup('made-up')).toEqual({ active: false });
    expect(secret.reads()).toHaveLength(before);
    expect(secret.reads().filter((r) => r.VersionId)).toEqual([
      { SecretId: ARN, VersionId: k2.kid }, { SecretId: ARN, VersionId: k1.kid }, { SecretId: ARN, VersionId: '99999999-0000-4000-8000-000000000000' },
    ]);
  });

  test('lookup: an error other than "not found" propagates (the endpoint answers "try again")', async () => {
    const client = new SecretsManagerClient({});
    mockClient(client).on(GetSecretValueCommand).rejects(awsError('ThrottlingException', 'Rate exceeded'));
    await expect(signingKeyLoader(client, ARN).lookup('99999999-0000-4000-8000-000000000000')).rejects.toThrow('Rate exceeded');
  });
});

// ---------------------------------------------------------------------------------------------

const TOKEN = 'AQCEAAAAKgAAAAMAAAAAAAAAAcTaskToken+With/Chars==';
const ID = approvalIdOf(TOKEN);
const EXP = NOW_S + 3600;
const EXECUTION = 'arn:aws:states:eu-west-1:123456789012:execution:claims:exec-1';
const endpointConfig = readApprovalEndpointConfig({
  APPROVALS_TABLE: 'approvals', AUDIT_TABLE: 'audit', SIGNING_SECRET_ARN: ARN, WORKFLOW_NAME: 'claims', EVENT_BUS_NAME: 'bus', EVENT_SOURCE: 'acme',
});
const silent = { info: () => undefined, warn: () => undefined, error: () => undefined };

function pendingApproval(): FakeAgentAws {
  const aws = new FakeAgentAws();
  aws.now = () => NOW;
  aws.defineTable('approvals', ['approvalId']);
  aws.defineTable('audit', ['executionId', 'recordId']);
  aws.table('approvals').set(ID, {
    approvalId: ID,
    taskToken: TOKEN,
    executionId: EXECUTION,
    stage: 'primary',
    status: 'PENDING',
    createdAt: NOW_S - 60,
    expiresAt: EXP,
    ttl: EXP,
    reason: 'amount > 1000',
    subjectKey: 's3://inbox/claims/claim-7.jpg',
    fields: { amount: 1500 },
    summary: 'Broken window.',
    notifiedAt: NOW_S - 59,
  });
  aws.linkTask(TOKEN, EXECUTION);
  return aws;
}

function endpointDeps(aws: FakeAgentAws, signingKey: SigningKeySource): ApprovalEndpointDeps {
  return { ddb: aws.ddb, sfn: aws.sfn, events: aws.eventBridge, signingKey, now: () => NOW, log: silent, metrics: { count: () => undefined } };
}

function request(method: 'GET' | 'POST', action: LinkAction, sig: string): APIGatewayProxyEvent {
  const fields = { action, exp: String(EXP), sig };
  return {
    httpMethod: method,
    resource: '/approvals/{id}',
    path: `/approvals/${ID}`,
    pathParameters: { id: ID },
    queryStringParameters: method === 'GET' ? fields : null,
    headers: method === 'POST' ? { 'Content-Type': 'application/x-www-form-urlencoded' } : {},
    body: method === 'POST' ? new URLSearchParams(fields).toString() : null,
    isBase64Encoded: false,
    requestContext: { identity: { sourceIp: '203.0.113.7', userArn: null }, authorizer: null },
  } as unknown as APIGatewayProxyEvent;
}

describe('the approval endpoint across rotations', () => {
  test('a container that cached the old keys meets a link signed with the new one: one read by VersionId, then accepted', async () => {
    const aws = pendingApproval();
    const secret = new Secret(new SecretsManagerClient({}), keyValue('a'));
    const keys = signingKeyLoader(secret.client, ARN);
    const deps = endpointDeps(aws, keys);
    const k1 = secret.key(0);
    expect((await endpointHandle(request('GET', 'approve', signLink(k1, ID, 'approve', EXP)), endpointConfig, deps)).statusCode).toBe(200);
    const k2 = secret.put(keyValue('b'));
    const page = await endpointHandle(request('GET', 'approve', signLink(k2, ID, 'approve', EXP)), endpointConfig, deps);
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain(`name="sig" value="${k2.kid}.`);
    expect(secret.reads().filter((r) => r.VersionId)).toEqual([{ SecretId: ARN, VersionId: k2.kid }]);
    // the cached keys were dropped: the next request reads current and previous again, and the old link still works
    expect((await endpointHandle(request('GET', 'approve', signLink(k1, ID, 'approve', EXP)), endpointConfig, deps)).statusCode).toBe(200);
    expect(secret.reads().slice(-2)).toEqual([{ SecretId: ARN, VersionStage: 'AWSCURRENT' }, { SecretId: ARN, VersionStage: 'AWSPREVIOUS' }]);
  });

  test('after one rotation a link signed with the previous key decides; after a second one it answers 410 "retired", nothing decided', async () => {
    const aws = pendingApproval();
    const k1: SigningKey = { kid: '11111111-1111-4111-8111-111111111111', secret: keyValue('a') };
    const k2: SigningKey = { kid: '22222222-2222-4222-8222-222222222222', secret: keyValue('b') };
    const k3: SigningKey = { kid: '33333333-3333-4333-8333-333333333333', secret: keyValue('c') };
    const old = signLink(k1, ID, 'approve', EXP);

    const retired = await endpointHandle(request('POST', 'approve', old), endpointConfig, endpointDeps(aws, fixedSigningKeys(k3, k2, [k1])));
    expect(retired.statusCode).toBe(410);
    expect(retired.body).toContain('This link was signed with a key that has since been retired by a key rotation. Nothing was decided.');
    expect(aws.taskResponses).toEqual([]);
    expect(aws.table('approvals').get(ID)?.status).toBe('PENDING');
    const attempt = aws.items('audit').find((i) => String(i.recordId).startsWith('ATTEMPT#'));
    expect(attempt).toMatchObject({ httpStatus: 410, detail: 'signed with a retired key' });

    const decided = await endpointHandle(request('POST', 'approve', old), endpointConfig, endpointDeps(aws, fixedSigningKeys(k2, k1)));
    expect(decided.statusCode).toBe(200);
    expect(aws.taskResponses).toEqual([expect.objectContaining({ kind: 'success', token: TOKEN })]);
  });

  test('a link mailed before key ids existed still verifies against the previous key after a rotation', async () => {
    const aws = pendingApproval();
    const k1: SigningKey = { kid: '11111111-1111-4111-8111-111111111111', secret: keyValue('a') };
    const k2: SigningKey = { kid: '22222222-2222-4222-8222-222222222222', secret: keyValue('b') };
    const legacy = signLegacyLink(k1.secret, ID, 'reject', EXP);
    expect((await endpointHandle(request('GET', 'reject', legacy), endpointConfig, endpointDeps(aws, fixedSigningKeys(k2, k1)))).statusCode).toBe(200);
    expect((await endpointHandle(request('GET', 'reject', legacy), endpointConfig, endpointDeps(aws, fixedSigningKeys(k2)))).statusCode).toBe(403);
  });

  test('a bad signature under a known key, or a key id the secret does not know, is 403 "Invalid link"', async () => {
    const aws = pendingApproval();
    const secret = new Secret(new SecretsManagerClient({}), keyValue('a'));
    const deps = endpointDeps(aws, signingKeyLoader(secret.client, ARN));
    const k1 = secret.key(0);
    const bad = await endpointHandle(request('GET', 'approve', signLink({ kid: k1.kid, secret: keyValue('z') }, ID, 'approve', EXP)), endpointConfig, deps);
    expect(bad.statusCode).toBe(403);
    const unknown = await endpointHandle(request('GET', 'approve', signLink({ kid: '99999999-0000-4000-8000-000000000000', secret: keyValue('z') }, ID, 'approve', EXP)),
      endpointConfig, deps);
    expect(unknown.statusCode).toBe(403);
    expect(unknown.body).toContain('Invalid link');
  });
});

describe('the approval request retried after a rotation', () => {
  test('finds the same approval id and sends no second e-mail', async () => {
    const aws = new FakeAgentAws();
    aws.now = () => NOW;
    aws.defineTable('approvals', ['approvalId']);
    const config = readApprovalRequestConfig({
      APPROVALS_TABLE: 'approvals',
      SIGNING_SECRET_ARN: ARN,
      ENDPOINT_URL: 'https://api.example.com/v1/',
      PRIMARY_TOPIC_ARN: 'arn:aws:sns:eu-west-1:123456789012:approvers',
      ESCALATION_TOPIC_ARN: '',
      EVENT_BUS_NAME: 'bus',
      EVENT_SOURCE: 'acme',
      WORKFLOW_NAME: 'claims',
    });
    const event = {
      taskToken: TOKEN,
      executionId: EXECUTION,
      stage: 'primary',
      timeoutSeconds: 3600,
      reason: 'amount > 1000',
      subject: { bucket: 'inbox', key: 'claims/claim-7.jpg', versionId: null },
      fields: { amount: 1500 },
      summary: 'Broken window.',
      tools: {},
    };
    const k1: SigningKey = { kid: '11111111-1111-4111-8111-111111111111', secret: keyValue('a') };
    const k2: SigningKey = { kid: '22222222-2222-4222-8222-222222222222', secret: keyValue('b') };
    const deps = (keys: SigningKeySource): ApprovalRequestDeps => ({
      ddb: aws.ddb, sns: aws.sns, events: aws.eventBridge, signingKey: keys, now: () => NOW, log: silent,
    });

    const first = await requestHandle(event, config, deps(fixedSigningKeys(k1)));
    expect(first.approvalId).toBe(ID);
    expect(aws.published).toHaveLength(1);
    expect(aws.published[0].message).toContain(`sig=${k1.kid}.`);
    const retried = await requestHandle(event, config, deps(fixedSigningKeys(k2, k1)));
    expect(retried).toEqual(first);
    expect(aws.published).toHaveLength(1);
    expect(aws.items('approvals')).toHaveLength(1);
  });
});
