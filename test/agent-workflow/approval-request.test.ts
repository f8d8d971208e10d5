import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { DynamoDBDocumentClient, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import {
  ApprovalRequestConfig, ApprovalRequestDeps, handle, handler, parseApprovalRequest, readApprovalRequestConfig, resetForTests, snsSubject,
  UNTRUSTED_END, UNTRUSTED_SEPARATOR,
} from '../../src/agent-workflow/runtime/approval-request.lambda';
import { ApprovalRequestEvent } from '../../src/agent-workflow/runtime/contracts';
import { approvalIdOf, fixedSigningKeys, SigningKey, verifyLink } from '../../src/agent-workflow/runtime/link-signing';

const ddbMock = mockClient(DynamoDBDocumentClient);
const snsMock = mockClient(SNSClient);
const eventsMock = mockClient(EventBridgeClient);
const secretsMock = mockClient(SecretsManagerClient);

const KEY = 'test-signing-key-0123456789abcdefghijklmnop';
/** The key's id: the secret's VersionId. */
const KID = 'aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee';
const SIGNING: SigningKey = { kid: KID, secret: KEY };
const TOKEN = 'AQCEAAAAKgAAAAMAAAAAAAAAAcSecret+Task/Token==';
const NOW = new Date('2026-07-01T12:00:00Z');
const NOW_S = NOW.getTime() / 1000;

const ENV = {
  APPROVALS_TABLE: 'approvals',
  SIGNING_SECRET_ARN: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:signing-AbCdEf',
  ENDPOINT_URL: 'https://api.example.com/prod/',
  PRIMARY_TOPIC_ARN: 'arn:aws:sns:eu-west-1:123456789012:primary',
  ESCALATION_TOPIC_ARN: 'arn:aws:sns:eu-west-1:123456789012:escalation',
  EVENT_BUS_NAME: 'bus',
  EVENT_SOURCE: 'acme.agent-workflow',
  WORKFLOW_NAME: 'claims',
};
const config: ApprovalRequestConfig = readApprovalRequestConfig(ENV);

function request(overrides: Partial<ApprovalRequestEvent> = {}): ApprovalRequestEvent {
  return {
    taskToken: TOKEN,
    executionId: 'arn:aws:states:eu-west-1:123456789012:execution:claims:exec-1',
    stage: 'primary',
    timeoutSeconds: 3600,
    reason: 'amount > 1000',
    subject: { bucket: 'inbox', key: 'claims/2026/claim-7.pdf', versionId: 'v1' },
    fields: { amount: 1500, currency: 'EUR', urgent: true, note: null },
    summary: 'Claim for a broken window.',
    tools: { policyLookup: { policy: 'P-1', covered: true } },
    ...overrides,
  };
}

function makeDeps(): ApprovalRequestDeps & { logs: Array<{ level: string; message: string; extra?: Record<string, unknown> }> } {
  const logs: Array<{ level: string; message: string; extra?: Record<string, unknown> }> = [];
  return {
    ddb: DynamoDBDocumentClient.from(new DynamoDBClient({})),
    sns: new SNSClient({}),
    events: new EventBridgeClient({}),
    signingKey: fixedSigningKeys(SIGNING),
    now: () => NOW,
    log: {
      info: (message, extra) => logs.push({ level: 'info', message, extra }),
      warn: (message, extra) => logs.push({ level: 'warn', message, extra }),
      error: (message, extra) => logs.push({ level: 'error', message, extra }),
    },
    logs,
  };
}

const conditionalFailure = () => Object.assign(new Error('The conditional request failed'), { name: 'ConditionalCheckFailedException' });

beforeEach(() => {
  ddbMock.reset();
  snsMock.reset();
  eventsMock.reset();
  secretsMock.reset();
  ddbMock.on(PutCommand).resolves({});
  ddbMock.on(UpdateCommand).resolves({});
  snsMock.on(PublishCommand).resolves({ MessageId: 'm-1' });
  eventsMock.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'e-1' }] });
});

describe('approval request: first invocation', () => {
  test('records a PENDING item once, mails signed links, announces the request, returns id and expiry', async () => {
    const deps = makeDeps();
    const result = await handle(request(), config, deps);
    const approvalId = approvalIdOf(TOKEN);
    expect(result).toEqual({ approvalId, expiresAt: NOW_S + 3600 });

    expect(ddbMock).toHaveReceivedCommandTimes(PutCommand, 1);
    expect(ddbMock).toHaveReceivedCommandWith(PutCommand, {
      TableName: 'approvals',
      ConditionExpression: 'attribute_not_exists(approvalId)',
      Item: {
        approvalId,
        taskToken: TOKEN,
        executionId: 'arn:aws:states:eu-west-1:123456789012:execution:claims:exec-1',
        stage: 'primary',
        status: 'PENDING',
        createdAt: NOW_S,
        expiresAt: NOW_S + 3600,
        ttl: NOW_S + 3600,
        reason: 'amount > 1000',
        subjectKey: 's3://inbox/claims/2026/claim-7.pdf',
        fields: { amount: 1500, currency: 'EUR', urgent: true, note: null },
        summary: 'Claim for a broken window.',
      },
    });

    expect(snsMock).toHaveReceivedCommandTimes(PublishCommand, 1);
    const publish = snsMock.commandCalls(PublishCommand)[0].args[0].input;
    expect(publish.TopicArn).toBe(ENV.PRIMARY_TOPIC_ARN);
    expect(publish.Subject).toBe('[claims] Approval needed: amount > 1000');
    const message = publish.Message!;
    for (const text of ['Reason: amount > 1000', '| Bucket: "inbox"  Version: "v1"', '|   "claims/2026/claim-7.pdf"', '|   "amount": 1500',
      '|   "currency": "EUR"', '|   "Claim for a broken window."', '|   "policyLookup": {"policy":"P-1","covered":true}', 'Expires: 2026-07-01T13:00:00.000Z']) {
      expect(message).toContain(text);
    }
    const links = [...message.matchAll(/https:\/\/api\.example\.com\/prod\/approvals\/\S+/g)].map((m) => new URL(m[0]));
    expect(links.map((u) => u.searchParams.get('action'))).toEqual(['approve', 'reject']);
    for (const url of links) {
      expect(url.pathname).toBe(`/prod/approvals/${approvalId}`);
      const verdict = await verifyLink(fixedSigningKeys(SIGNING), {
        approvalId, action: url.searchParams.get('action'), exp: url.searchParams.get('exp'), sig: url.searchParams.get('sig'),
      }, NOW_S);
      expect(verdict).toEqual(expect.objectContaining({ result: 'ok', exp: NOW_S + 3600, kid: KID }));
    }

    expect(ddbMock).toHaveReceivedCommandWith(UpdateCommand, { Key: { approvalId }, UpdateExpression: 'SET notifiedAt = :now' });
    expect(eventsMock).toHaveReceivedCommandTimes(PutEventsCommand, 1);
    const entry = eventsMock.commandCalls(PutEventsCommand)[0].args[0].input.Entries![0];
    expect(entry).toEqual(expect.objectContaining({ EventBusName: 'bus', Source: 'acme.agent-workflow', DetailType: 'Approval Requested' }));
    expect(JSON.parse(entry.Detail!)).toEqual({
      workflow: 'claims',
      executionId: 'arn:aws:states:eu-west-1:123456789012:execution:claims:exec-1',
      approvalId,
      stage: 'primary',
      reason: 'amount > 1000',
      expiresAt: '2026-07-01T13:00:00.000Z',
    });
  });

  test('the task token appears in no message, no event and no log line', async () => {
    const deps = makeDeps();
    await handle(request(), config, deps);
    const publish = snsMock.commandCalls(PublishCommand)[0].args[0].input;
    for (const part of [TOKEN, 'Secret+Task/Token', encodeURIComponent(TOKEN)]) {
      expect(publish.Message).not.toContain(part);
      expect(publish.Subject).not.toContain(part);
      expect(JSON.stringify(eventsMock.commandCalls(PutEventsCommand)[0].args[0].input)).not.toContain(part);
      expect(JSON.stringify(deps.logs)).not.toContain(part);
    }
    expect(JSON.stringify(deps.logs)).not.toContain(KEY);
  });

  test('a heartbeat interval adds a signed "reviewing" link; without one the message has only approve and reject', async () => {
    await handle(request({ heartbeatSeconds: 3600 }), config, makeDeps());
    const withHeartbeat = snsMock.commandCalls(PublishCommand)[0].args[0].input.Message!;
    expect(withHeartbeat).toMatch(/Reviewing \(resets the 60-minute acknowledgement deadline, decides nothing\): https:\/\/\S+action=heartbeat&exp=\d+&sig=\S+/);
    snsMock.resetHistory();
    ddbMock.reset();
    ddbMock.on(PutCommand).resolves({});
    ddbMock.on(UpdateCommand).resolves({});
    await handle(request({ taskToken: `${TOKEN}-2` }), config, makeDeps());
    const without = snsMock.commandCalls(PublishCommand)[0].args[0].input.Message!;
    expect(without).toContain('action=approve');
    expect(without).not.toContain('action=heartbeat');
  });

  test('escalation goes to the escalation topic; an escalation without a topic fails loudly', async () => {
    await handle(request({ stage: 'escalation' }), config, makeDeps());
    expect(snsMock).toHaveReceivedCommandWith(PublishCommand, { TopicArn: ENV.ESCALATION_TOPIC_ARN });
    expect(snsMock.commandCalls(PublishCommand)[0].args[0].input.Subject).toMatch(/^\[claims\] ESCALATED approval needed/);

    snsMock.resetHistory();
    ddbMock.resetHistory();
    const noEscalation = readApprovalRequestConfig({ ...ENV, ESCALATION_TOPIC_ARN: '' });
    await expect(handle(request({ stage: 'escalation' }), noEscalation, makeDeps())).rejects.toThrow(/ESCALATION_TOPIC_ARN is empty/);
    expect(ddbMock).toHaveReceivedCommandTimes(PutCommand, 0);
    expect(snsMock).toHaveReceivedCommandTimes(PublishCommand, 0);
  });

  test('a rejected or failed Approval Requested event is logged; the approval still waits (the links are already mailed)', async () => {
    eventsMock.on(PutEventsCommand).resolves({ FailedEntryCount: 1, Entries: [{ ErrorCode: 'InternalFailure', ErrorMessage: 'boom' }] });
    const deps = makeDeps();
    await expect(handle(request(), config, deps)).resolves.toEqual(expect.objectContaining({ approvalId: expect.any(String) }));
    expect(deps.logs).toContainEqual(expect.objectContaining({ level: 'error', message: 'the Approval Requested event was not accepted' }));
    eventsMock.on(PutEventsCommand).rejects(Object.assign(new Error('down'), { name: 'InternalException' }));
    const deps2 = makeDeps();
    await expect(handle(request({ taskToken: `${TOKEN}-3` }), config, deps2)).resolves.toBeDefined();
    expect(deps2.logs).toContainEqual(expect.objectContaining({ level: 'error', message: 'the Approval Requested event could not be sent' }));
    expect(snsMock).toHaveReceivedCommandTimes(PublishCommand, 2);
  });
});

describe('approval request: the "approval" progress event (the first request replaces the "Progress Awaiting Approval" state)', () => {
  const EXECUTION = 'arn:aws:states:eu-west-1:123456789012:execution:claims:exec-1';
  const entriesSent = () => eventsMock.commandCalls(PutEventsCommand)
    .map((c) => c.args[0].input.Entries!.map((e) => ({ ...e, Detail: JSON.parse(e.Detail!) })));

  test('with `progress`: one PutEvents call, Approval Requested then "approval AWAITING_APPROVAL 75"', async () => {
    eventsMock.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'e-1' }, { EventId: 'e-2' }] });
    await handle({ ...request(), progress: { executionId: EXECUTION } }, config, makeDeps());
    const [entries] = entriesSent();
    expect(entriesSent()).toHaveLength(1);
    expect(entries.map((e) => e.DetailType)).toEqual(['Approval Requested', 'Agent Workflow Progress']);
    expect(entries[1]).toEqual({
      EventBusName: 'bus',
      Source: 'acme.agent-workflow',
      DetailType: 'Agent Workflow Progress',
      Detail: { workflow: 'claims', executionId: EXECUTION, step: 'approval', status: 'AWAITING_APPROVAL', percent: 75, at: NOW.toISOString() },
    });
  });

  test('without `progress` (an escalation, or an earlier definition with its own state): the announcement alone', async () => {
    await handle(request({ stage: 'escalation' }), config, makeDeps());
    expect(entriesSent().map((entries) => entries.map((e) => e.DetailType))).toEqual([['Approval Requested']]);
  });

  test('a rejected progress entry is logged as such; the approval still waits', async () => {
    eventsMock.on(PutEventsCommand).resolves({ FailedEntryCount: 1, Entries: [{ EventId: 'e-1' }, { ErrorCode: 'InternalFailure', ErrorMessage: 'boom' }] });
    const deps = makeDeps();
    await expect(handle({ ...request(), progress: { executionId: EXECUTION } }, config, deps))
      .resolves.toEqual(expect.objectContaining({ approvalId: expect.any(String) }));
    expect(deps.logs.filter((l) => l.level === 'error')).toEqual([
      { level: 'error', message: 'the approval progress event was not accepted', extra: expect.objectContaining({ errorCode: 'InternalFailure', errorMessage: 'boom' }) },
    ]);
  });
});

describe('approval request: untrusted content cannot pass for the workflow\'s own words', () => {
  const HOSTILE_KEY = 'claims/x.jpg\nApprove: https://evil.example/ok\nReject: https://evil.example/no';
  const hostile = () => request({
    subject: { bucket: 'inbox', key: HOSTILE_KEY, versionId: 'v1' },
    summary: 'Looks fine.\n\nApprove: https://evil.example/ok\r\nReject:  https://evil.example/no\u2028http://evil.example/x \u202eevil\u200b',
    fields: { 'note\nApprove: https://evil.example/f': 'a\nReject: https://evil.example/g', 'amount': 1500 },
    tools: { policyLookup: { note: 'x\nApprove: https://evil.example/t', covered: true } },
  });
  const publishedMessage = () => snsMock.commandCalls(PublishCommand)[0].args[0].input.Message!;
  /** The lines from the separator on, and the lines before it. */
  const parts = (message: string) => {
    const lines = message.split('\n');
    const at = lines.indexOf(UNTRUSTED_SEPARATOR);
    expect(at).toBeGreaterThan(0);
    return { own: lines.slice(0, at), rest: lines.slice(at) };
  };

  test('a hostile key, summary, fields and tool values: the real links first, every untrusted line prefixed, no fake link line', async () => {
    const { approvalId } = await handle(hostile(), config, makeDeps());
    const message = publishedMessage();
    const { own, rest } = parts(message);
    // the workflow's own part: the id, the expiry and the real signed links, nothing from the upload or the model
    expect(own).toContain(`Approval id: ${approvalId}`);
    expect(own).toContain('Expires: 2026-07-01T13:00:00.000Z');
    expect(own.filter((l) => /^Approve: https:\/\/api\.example\.com\/prod\/approvals\//.test(l))).toHaveLength(1);
    expect(own.filter((l) => /^Reject: {2}https:\/\/api\.example\.com\/prod\/approvals\//.test(l))).toHaveLength(1);
    expect(own.join('\n')).not.toMatch(/evil|claims\/x\.jpg|Looks fine/);
    // in the whole message only those two lines start like a decision link; no line starts with a URL
    expect(message.split('\n').filter((l) => /^\s*(Approve|Reject|http)/i.test(l))).toEqual([
      expect.stringMatching(/^Approve: https:\/\/api\.example\.com\//), expect.stringMatching(/^Reject: {2}https:\/\/api\.example\.com\//),
    ]);
    // the untrusted part: a fixed introduction, then only prefixed lines, then the closing line
    expect(rest[1]).toMatch(/^Everything below came from the upload .* and is$/);
    expect(rest[2]).toMatch(/untrusted/);
    const body = rest.slice(4, -1);
    expect(rest[rest.length - 1]).toBe(UNTRUSTED_END);
    expect(body.length).toBeGreaterThan(5);
    for (const line of body) expect(line.startsWith('|')).toBe(true);
    // quoted, on one logical line each (wrapped lines joined), links disabled
    const joined = body.map((l) => l.replace(/^\|\s*/, '')).join(' ');
    expect(joined).toContain('"claims/x.jpg Approve: https[:]//evil.example/ok Reject: https[:]//evil.example/no"');
    expect(joined).toContain('"Looks fine. Approve: https[:]//evil.example/ok Reject: https[:]//evil.example/no http[:]//evil.example/x evil"');
    expect(joined).toContain('"note Approve: https[:]//evil.example/f": "a Reject: https[:]//evil.example/g"');
    expect(joined).toContain('"policyLookup": {"note":"x\\nApprove: https[:]//evil.example/t","covered":true}');
    expect(message).not.toContain('https://evil');
    // eslint-disable-next-line no-control-regex
    expect(message).not.toMatch(/[\r\u0000-\u0009\u000b-\u001f\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2028\u2029\u2066-\u2069]/);
  });

  test('very long values are cut with a visible marker; the links stay first', async () => {
    await handle(request({
      summary: 's'.repeat(5000),
      fields: { long: 'f'.repeat(1000), ['n'.repeat(100)]: 1 },
      tools: { big: { text: 't'.repeat(3000) } },
    }), config, makeDeps());
    const message = publishedMessage();
    expect(message).toContain('…[cut: 3,000 more characters]');
    expect(message).toContain('…[cut: 700 more characters]');
    expect(message).toContain('…[cut: 36 more characters]');
    expect(message).toMatch(/…\[cut: 2,\d{3} more characters\]/);
    expect(message.indexOf('Approve: https://')).toBeLessThan(message.indexOf(UNTRUSTED_SEPARATOR));
    expect(message.indexOf(UNTRUSTED_SEPARATOR)).toBeLessThan(message.indexOf('sss'));
    expect(Math.max(...message.split('\n').filter((l) => l.startsWith('|')).map((l) => l.length))).toBeLessThanOrEqual(80);
  });

  test('the Approval Requested event carries the reason and the execution id cleaned (one line, no control or bidi characters)', async () => {
    await handle(request({ reason: 'amount > 1000\n\u202eApprove: https://evil.example/ok\u200b\u0007' }), config, makeDeps());
    const detail = JSON.parse(eventsMock.commandCalls(PutEventsCommand)[0].args[0].input.Entries![0].Detail!);
    expect(detail.reason).toBe('amount > 1000 Approve: https://evil.example/ok');
    expect(detail.executionId).toBe('arn:aws:states:eu-west-1:123456789012:execution:claims:exec-1');
    expect(snsMock.commandCalls(PublishCommand)[0].args[0].input.Message).toContain('Reason: amount > 1000 Approve: https[:]//evil.example/ok\n');
  });
});

describe('approval request: retried invocation', () => {
  const approvalId = approvalIdOf(TOKEN);
  const existing = {
    approvalId,
    taskToken: TOKEN,
    executionId: 'arn:aws:states:eu-west-1:123456789012:execution:claims:exec-1',
    stage: 'primary',
    status: 'PENDING',
    createdAt: NOW_S - 120,
    expiresAt: NOW_S - 120 + 3600,
    ttl: NOW_S - 120 + 3600,
    reason: 'amount > 1000',
    subjectKey: 's3://inbox/claims/2026/claim-7.pdf',
    fields: {},
    summary: '',
  };

  test('already notified: reuses the id and the expiry, does not reset the item, does not mail again', async () => {
    ddbMock.on(PutCommand).rejects(conditionalFailure());
    ddbMock.on(GetCommand).resolves({ Item: { ...existing, notifiedAt: NOW_S - 119 } });
    const result = await handle(request(), config, makeDeps());
    expect(result).toEqual({ approvalId, expiresAt: existing.expiresAt });
    expect(ddbMock).toHaveReceivedCommandTimes(PutCommand, 1);
    expect(ddbMock).toHaveReceivedCommandWith(GetCommand, { Key: { approvalId }, ConsistentRead: true });
    expect(ddbMock).toHaveReceivedCommandTimes(UpdateCommand, 0);
    expect(snsMock).toHaveReceivedCommandTimes(PublishCommand, 0);
    expect(eventsMock).toHaveReceivedCommandTimes(PutEventsCommand, 1);
  });

  test('not yet notified (the first attempt failed before mailing): mails links that expire with the existing item', async () => {
    ddbMock.on(PutCommand).rejects(conditionalFailure());
    ddbMock.on(GetCommand).resolves({ Item: existing });
    const result = await handle(request(), config, makeDeps());
    expect(result.expiresAt).toBe(existing.expiresAt);
    expect(snsMock).toHaveReceivedCommandTimes(PublishCommand, 1);
    const message = snsMock.commandCalls(PublishCommand)[0].args[0].input.Message!;
    expect(message).toContain(`exp=${existing.expiresAt}&`);
    expect(ddbMock).toHaveReceivedCommandTimes(UpdateCommand, 1);
  });

  test('any other DynamoDB error fails the invocation without mailing', async () => {
    ddbMock.on(PutCommand).rejects(Object.assign(new Error('slow down'), { name: 'ProvisionedThroughputExceededException' }));
    await expect(handle(request(), config, makeDeps())).rejects.toThrow('slow down');
    expect(snsMock).toHaveReceivedCommandTimes(PublishCommand, 0);
  });
});

describe('approval request: validation', () => {
  test.each([
    ['no token', { taskToken: '' }, /taskToken/],
    ['no execution id', { executionId: undefined }, /executionId/],
    ['unknown stage', { stage: 'final' }, /stage must be/],
    ['fractional timeout', { timeoutSeconds: 1.5 }, /timeoutSeconds/],
    ['zero timeout', { timeoutSeconds: 0 }, /timeoutSeconds/],
    ['timeout as string', { timeoutSeconds: '3600' }, /timeoutSeconds/],
    ['no subject key', { subject: { bucket: 'inbox', key: '', versionId: null } }, /subject/],
    ['nested field', { fields: { amount: { value: 1 } } }, /fields\.amount/],
    ['fields as array', { fields: [] }, /fields must be an object/],
    ['summary missing', { summary: undefined }, /summary/],
    ['tools as string', { tools: 'x' }, /tools/],
  ])('%s: fails loudly naming the field, calls nothing, never echoes the token', async (_name, override, message) => {
    const event = { ...request(), ...override } as unknown;
    expect(() => parseApprovalRequest(event)).toThrow(message);
    const err = await handle(event, config, makeDeps()).catch((e: Error) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).name).toBe('InvalidApprovalRequest');
    expect((err as Error).message).not.toContain(TOKEN);
    expect(ddbMock).toHaveReceivedCommandTimes(PutCommand, 0);
    expect(snsMock).toHaveReceivedCommandTimes(PublishCommand, 0);
  });

  test('a missing versionId is read as null', () => {
    const parsed = parseApprovalRequest({ ...request(), subject: { bucket: 'inbox', key: 'a.pdf' } });
    expect(parsed.subject.versionId).toBeNull();
  });

  test('subject is ASCII, one line, at most 100 characters', () => {
    const subject = snsSubject('claims', 'primary', `Montant élevé\n${'x'.repeat(200)} 💸`);
    expect(subject.length).toBeLessThanOrEqual(100);
    expect(subject).toMatch(/^[\x20-\x7e]+$/);
    expect(subject.endsWith('...')).toBe(true);
  });
});

describe('approval request: configuration and wiring', () => {
  test.each(['APPROVALS_TABLE', 'SIGNING_SECRET_ARN', 'ENDPOINT_URL', 'PRIMARY_TOPIC_ARN', 'EVENT_BUS_NAME', 'EVENT_SOURCE', 'WORKFLOW_NAME'])(
    'missing %s is an error naming it', (name) => {
      expect(() => readApprovalRequestConfig({ ...ENV, [name]: undefined })).toThrow(new RegExp(`Environment variable ${name} is required`));
    });
  test('ESCALATION_TOPIC_ARN may be empty but must be set; ENDPOINT_URL must end with a slash', () => {
    expect(readApprovalRequestConfig({ ...ENV, ESCALATION_TOPIC_ARN: '' }).escalationTopicArn).toBe('');
    expect(() => readApprovalRequestConfig({ ...ENV, ESCALATION_TOPIC_ARN: undefined })).toThrow(/ESCALATION_TOPIC_ARN/);
    expect(() => readApprovalRequestConfig({ ...ENV, ENDPOINT_URL: 'https://api.example.com/prod' })).toThrow(/ENDPOINT_URL must be/);
  });

  describe('handler', () => {
    const saved = { ...process.env };
    beforeEach(() => resetForTests());
    afterEach(() => {
      process.env = { ...saved };
      resetForTests();
    });

    test('cold start without configuration fails naming the variable', async () => {
      process.env = { ...saved, ...ENV };
      delete process.env.APPROVALS_TABLE;
      await expect(handler(request())).rejects.toThrow(/Environment variable APPROVALS_TABLE is required/);
    });

    test('reads the signing key (AWSCURRENT only: it signs, never verifies) from Secrets Manager once per container (cached)', async () => {
      process.env = { ...saved, ...ENV, POWERTOOLS_LOG_LEVEL: 'SILENT' };
      secretsMock.on(GetSecretValueCommand, { VersionStage: 'AWSCURRENT' }).resolves({ SecretString: KEY, VersionId: KID, VersionStages: ['AWSCURRENT'] });
      const first = await handler(request());
      const second = await handler(request({ taskToken: 'another-token' }));
      expect(first.approvalId).toBe(approvalIdOf(TOKEN));
      expect(second.approvalId).toBe(approvalIdOf('another-token'));
      expect(secretsMock).toHaveReceivedCommandTimes(GetSecretValueCommand, 1);
      expect(secretsMock).toHaveReceivedCommandWith(GetSecretValueCommand, { SecretId: ENV.SIGNING_SECRET_ARN, VersionStage: 'AWSCURRENT' });
    });

    test('a signing secret shorter than 32 characters is refused', async () => {
      process.env = { ...saved, ...ENV, POWERTOOLS_LOG_LEVEL: 'SILENT' };
      secretsMock.on(GetSecretValueCommand, { VersionStage: 'AWSCURRENT' }).resolves({ SecretString: 'short', VersionId: KID });
      await expect(handler(request())).rejects.toThrow(/at least 32 characters/);
      expect(ddbMock).toHaveReceivedCommandTimes(PutCommand, 0);
    });
  });
});
