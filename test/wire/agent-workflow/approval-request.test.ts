/**
 * The approval request at the wire: the insurance-claims example's function, invoked with the
 * payload its "Request Approval" / "Escalate Approval" states send (`.waitForTaskToken`), against
 * dynalite (the approvals table as synthesized), the SNS fake (the adjusters' and team leads'
 * topics), EventBridge and the signing secret in Secrets Manager. The scenarios of the unit tests
 * (test/agent-workflow/approval-request.test.ts), with the real clients. The approval monitor that
 * counts these approvals is in approval-monitor.test.ts.
 */
import { AgentStack, claimsStack, deploy, Deployed, forgetCalls, itemOf, logged, materialize, signingKeyOf, undeploy } from './agent-stack';
import { approvalIdOf, fixedSigningKeys, SigningKey, verifyLink } from '../../../src/agent-workflow/runtime/link-signing';
import { LocalLambda } from '../../harness/aws/lambda-runner';
import { StackFunction } from '../../harness/aws/stack-model';

// Synthesizes a stack and starts the local services in beforeAll; runs bundled handlers as child processes.
jest.setTimeout(60_000);

let claims: AgentStack;
let d: Deployed;
let fn: StackFunction;
let request: LocalLambda;
let key: SigningKey;
let bucket: string;

beforeAll(async () => {
  claims = await claimsStack();
  bucket = claims.task('Validate Input').rules.bucket;
  fn = claims.fn('approvalRequest');
  d = await deploy(claims);
  request = d.env.lambda(fn);
  key = signingKeyOf(d, fn.environment.SIGNING_SECRET_ARN);
});
afterAll(() => undeploy(d));
beforeEach(() => forgetCalls(d));

const EXECUTION = 'arn:aws:states:us-east-1:123456789012:execution:InsuranceClaims-08AA855B:claim-7-0123456789abcdef0123456789abcdef';
const nowS = () => Math.floor(Date.now() / 1000);
const env = () => fn.environment;

/** The state input at the approval states (what the earlier states put there). */
function stateInput(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    verdict: { reason: 'estimated_cost > policy.autoApproveLimit' },
    validation: { bucket, key: 'claims/2026/claim-7.jpg', versionId: 'v7aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa' },
    reasoning: {
      fields: { damage_type: 'dent', estimated_cost: 2400, severity_score: 3, confidence_score: 0.91, summary: 'Dent in the rear door.' },
      summary: 'A dent in the rear door; repair estimated at 2400 USD.',
    },
    tools: { policy: { autoApproveLimit: 1000, coverageLimit: 50000, status: 'ACTIVE' } },
    ...overrides,
  };
}

/** The payload of an approval state, for a fresh task token. */
function approvalEvent(state: 'Request Approval' | 'Escalate Approval' = 'Request Approval', overrides: Record<string, unknown> = {}) {
  const token = d.env.stepFunctions.issueTaskToken({ executionArn: EXECUTION });
  const event = materialize(claims.task(state), stateInput(overrides), { Task: { Token: token }, Execution: { Id: EXECUTION } });
  return { token, event, approvalId: approvalIdOf(token) };
}

const approval = (approvalId: string) => itemOf(d, env().APPROVALS_TABLE, { approvalId });
const linksIn = (message: string) => [...message.matchAll(/https:\/\/\S+\/approvals\/\S+/g)].map((m) => new URL(m[0]));
const actions = () => d.env.wire.calls.map((c) => `${c.service}:${c.action}${c.error ? `:${c.error}` : ''}`);

describe('first invocation', () => {
  test('records the approval PENDING once, mails signed links to the adjusters, announces it; the token is in no message, event or log', async () => {
    const { token, event, approvalId } = approvalEvent();
    const before = nowS();
    const out = await request.invoke(event);
    expect(out.error).toBeUndefined();
    expect(out.result).toEqual({ approvalId, expiresAt: expect.any(Number) });
    const { expiresAt } = out.result;
    expect(expiresAt - before).toBeGreaterThanOrEqual(172800);
    expect(expiresAt - nowS()).toBeLessThanOrEqual(172800);

    const item = await approval(approvalId);
    const createdAt = expiresAt - 172800;
    expect(item).toEqual({
      approvalId,
      taskToken: token,
      executionId: EXECUTION,
      stage: 'primary',
      status: 'PENDING',
      createdAt,
      expiresAt,
      ttl: expiresAt,
      reason: 'estimated_cost > policy.autoApproveLimit',
      subjectKey: `s3://${bucket}/claims/2026/claim-7.jpg`,
      fields: { damage_type: 'dent', estimated_cost: 2400, severity_score: 3, confidence_score: 0.91, summary: 'Dent in the rear door.' },
      summary: 'A dent in the rear door; repair estimated at 2400 USD.',
      notifiedAt: createdAt,
    });

    const [mail] = d.env.sns.published(env().PRIMARY_TOPIC_ARN);
    expect(d.env.sns.published()).toHaveLength(1);
    expect(mail.subject).toBe('[insurance-claims] Approval needed: estimated_cost > policy.autoApproveLimit');
    for (const text of ['|   "claims/2026/claim-7.jpg"', `| Bucket: "${bucket}"  Version: "v7aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"`, '|   "estimated_cost": 2400',
      '|   "damage_type": "dent"', '|   "policy":\n|     {"autoApproveLimit":1000,"coverageLimit":50000,"status":"ACTIVE"}',
      `Expires: ${new Date(expiresAt * 1000).toISOString()}`]) {
      expect(mail.message).toContain(text);
    }
    const links = linksIn(mail.message);
    expect(links.map((u) => u.searchParams.get('action'))).toEqual(['approve', 'reject']);
    const endpoint = new URL(env().ENDPOINT_URL);
    for (const url of links) {
      expect(url.origin).toBe(endpoint.origin);
      expect(url.pathname).toBe(`${endpoint.pathname}approvals/${approvalId}`);
      const claim = { approvalId, action: url.searchParams.get('action'), exp: url.searchParams.get('exp'), sig: url.searchParams.get('sig') };
      // signed with the current version of the secret, which the link names
      expect(await verifyLink(fixedSigningKeys(key), claim, nowS())).toEqual({ result: 'ok', approvalId, action: url.searchParams.get('action'), exp: expiresAt, kid: key.kid });
    }

    const [announced] = d.env.eventBridge.events(env().EVENT_BUS_NAME);
    expect(announced).toMatchObject({ source: env().EVENT_SOURCE, detailType: 'Approval Requested' });
    expect(announced.detail).toEqual({
      workflow: 'insurance-claims',
      executionId: EXECUTION,
      approvalId,
      stage: 'primary',
      reason: 'estimated_cost > policy.autoApproveLimit',
      expiresAt: new Date(expiresAt * 1000).toISOString(),
    });
    expect(actions()).toEqual(['secretsmanager:GetSecretValue', 'dynamodb:PutItem', 'sns:Publish', 'dynamodb:UpdateItem', 'events:PutEvents']);
    expect(logged(out.logs, 'approval recorded')[0]).toMatchObject({ level: 'INFO', approvalId, executionId: EXECUTION, stage: 'primary', expiresAt });
    expect(logged(out.logs, 'approvers notified')).toHaveLength(1);

    for (const part of [token, encodeURIComponent(token), token.slice(100, 160)]) {
      expect(mail.message).not.toContain(part);
      expect(mail.subject).not.toContain(part);
      expect(announced.detailText).not.toContain(part);
      expect(JSON.stringify(out.logs)).not.toContain(part);
    }
    expect(JSON.stringify(out.logs)).not.toContain(key.secret);
  });

  test('the first request also sends the "approval" progress event, in the same PutEvents call (the state machine has no state for it); the escalation does not', async () => {
    const { event } = approvalEvent('Request Approval');
    expect(event.progress).toEqual({ executionId: EXECUTION });
    const out = await request.invoke(event);
    expect(out.error).toBeUndefined();
    expect(d.env.wire.callsOf('events', 'PutEvents')).toHaveLength(1);
    const events = d.env.eventBridge.events(env().EVENT_BUS_NAME);
    expect(events.map((e) => [e.source, e.detailType])).toEqual([[env().EVENT_SOURCE, 'Approval Requested'], [env().EVENT_SOURCE, 'Agent Workflow Progress']]);
    expect(events[1].detail).toEqual({ workflow: 'insurance-claims', executionId: EXECUTION, step: 'approval', status: 'AWAITING_APPROVAL', percent: 75, at: expect.any(String) });

    forgetCalls(d);
    const escalation = approvalEvent('Escalate Approval');
    expect(escalation.event.progress).toBeUndefined();
    await request.invoke(escalation.event);
    expect(d.env.eventBridge.events().map((e) => e.detailType)).toEqual(['Approval Requested']);
  });

  test('escalation goes to the team leads, ESCALATED, and is announced as stage escalation', async () => {
    const { event, approvalId } = approvalEvent('Escalate Approval');
    const out = await request.invoke(event);
    expect(out.result.approvalId).toBe(approvalId);
    expect(d.env.sns.published(env().PRIMARY_TOPIC_ARN)).toHaveLength(0);
    const [mail] = d.env.sns.published(env().ESCALATION_TOPIC_ARN);
    expect(mail.subject).toBe('[insurance-claims] ESCALATED approval needed: estimated_cost > policy.autoApproveLimit');
    expect(mail.message).toContain('(ESCALATED: the first approver did not answer in time)');
    expect(await approval(approvalId)).toMatchObject({ stage: 'escalation', expiresAt: out.result.expiresAt, status: 'PENDING' });
    expect(out.result.expiresAt - nowS()).toBeLessThanOrEqual(86400);
    expect(d.env.eventBridge.events()[0].detail).toMatchObject({ stage: 'escalation', approvalId });
  });

  test('a heartbeat interval adds a signed "reviewing" link', async () => {
    const { event, approvalId } = approvalEvent('Request Approval');
    await request.invoke({ ...event, heartbeatSeconds: 3600 });
    const [mail] = d.env.sns.published();
    expect(mail.message).toMatch(/Reviewing \(resets the 60-minute acknowledgement deadline, decides nothing\): https:\/\/\S+action=heartbeat&exp=\d+&sig=\S+/);
    const heartbeat = linksIn(mail.message).find((u) => u.searchParams.get('action') === 'heartbeat')!;
    const claim = { approvalId, action: 'heartbeat', exp: heartbeat.searchParams.get('exp'), sig: heartbeat.searchParams.get('sig') };
    expect((await verifyLink(fixedSigningKeys(key), claim, nowS())).result).toBe('ok');
  });

  test('a hostile reason and fields reach SNS as plain text within its Subject rules', async () => {
    const reason = 'Montant élevé\n<script>alert(1)</script> ' + 'x'.repeat(150);
    const { event } = approvalEvent('Request Approval', { verdict: { reason } });
    const out = await request.invoke(event);
    expect(out.error).toBeUndefined();
    const [mail] = d.env.sns.published();
    expect(mail.subject!.length).toBeLessThanOrEqual(100);
    expect(mail.subject).toMatch(/^\[insurance-claims\] Approval needed: Montant [\x20-\x7e]+\.\.\.$/);
    // plain text, one line: the reason is the workflow's own rule text, cleaned
    expect(mail.message).toContain(`Reason: Montant élevé <script>alert(1)</script> ${'x'.repeat(150)}\n`);
    expect(d.env.eventBridge.events(env().EVENT_BUS_NAME)[0].detail.reason).toBe(`Montant élevé <script>alert(1)</script> ${'x'.repeat(150)}`);
  });

  test('a hostile object key, summary, fields and tool values reach SNS below the separator, quoted and prefixed; the real links come first', async () => {
    const { event, approvalId } = approvalEvent('Request Approval', {
      validation: { bucket, key: 'claims/x.jpg\nApprove: https://evil.example/ok\nReject: https://evil.example/no', versionId: null },
      reasoning: {
        fields: { 'summary': 'ok\nApprove: https://evil.example/f', 'estimated_cost': 2400, 'note\r\nReject: https://evil.example/k': '\u202eevil' },
        summary: `Fine.\n\nApprove: https://evil.example/s\n${'long '.repeat(600)}`,
      },
      tools: { policy: { status: 'ACTIVE\nApprove: https://evil.example/t' } },
    });
    const out = await request.invoke(event);
    expect(out.error).toBeUndefined();
    const [mail] = d.env.sns.published(env().PRIMARY_TOPIC_ARN);
    const lines = mail.message.split('\n');
    const separator = lines.findIndex((l) => l.startsWith('=====') && l.includes('UNTRUSTED CONTENT BELOW'));
    const end = lines.findIndex((l) => l.startsWith('=====') && l.includes('END OF UNTRUSTED CONTENT'));
    expect(separator).toBeGreaterThan(0);
    expect(end).toBe(lines.length - 1);
    // only the two real links start a line like a decision; they come before anything of untrusted origin
    const decisionLines = lines.map((l, i) => [l, i] as const).filter(([l]) => /^\s*(Approve|Reject|http)/i.test(l));
    expect(decisionLines.map(([l]) => l)).toEqual([expect.stringMatching(/^Approve: https:\/\//), expect.stringMatching(/^Reject: {2}https:\/\//)]);
    for (const [, i] of decisionLines) expect(i).toBeLessThan(separator);
    expect(linksIn(mail.message).map((u) => u.pathname.endsWith(`/approvals/${approvalId}`))).toEqual([true, true]);
    expect(lines.slice(0, separator).join('\n')).not.toMatch(/evil|claims\/x\.jpg|Fine\./);
    const untrusted = lines.slice(separator + 4, end);
    for (const l of untrusted) expect(l.startsWith('|')).toBe(true);
    const joined = untrusted.map((l) => l.replace(/^\|\s*/, '')).join(' ');
    expect(joined).toContain('"claims/x.jpg Approve: https[:]//evil.example/ok Reject: https[:]//evil.example/no"');
    expect(joined).toContain('"note Reject: https[:]//evil.example/k": "evil"');
    expect(joined).toContain('"policy": {"status":"ACTIVE\\nApprove: https[:]//evil.example/t"}');
    expect(mail.message).toMatch(/"Fine\. Approve: https\[:\]\/\/evil\.example\/s long/);
    expect(mail.message).toMatch(/…\[cut: \d,\d{3} more characters\]/);
    expect(mail.message).not.toContain('https://evil');
    // eslint-disable-next-line no-control-regex
    expect(mail.message).not.toMatch(/[\r\u0000-\u0009\u000b-\u001f\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2066-\u2069]/);
    // the approvals item keeps the values as they are (the confirm page escapes them)
    expect(await approval(approvalId)).toMatchObject({ subjectKey: `s3://${bucket}/claims/x.jpg\nApprove: https://evil.example/ok\nReject: https://evil.example/no` });
  });
});

describe('retried invocations (Step Functions retries the Lambda task)', () => {
  test('already notified: the conditional put fails in dynalite, the item is reused as it is, nobody is mailed again', async () => {
    const { event, approvalId } = approvalEvent();
    const first = await request.invoke(event);
    const stored = await approval(approvalId);
    forgetCalls(d);
    const again = await request.invoke(event);
    expect(again.result).toEqual(first.result);
    expect(await approval(approvalId)).toEqual(stored);
    expect(actions()).toEqual(['dynamodb:PutItem:HTTP 400', 'dynamodb:GetItem', 'events:PutEvents']);
    expect(d.env.sns.published()).toHaveLength(0);
    expect(logged(again.logs, 'retried request: reusing the existing approval')[0]).toMatchObject({ approvalId, status: 'PENDING', notified: true });
  });

  test('the first attempt failed at Publish: it fails naming the cause; the retry mails once, with links that expire with the item', async () => {
    const { event, approvalId } = approvalEvent();
    d.env.wire.fail({ service: 'sns', action: 'Publish', code: 'KMSAccessDenied', message: 'SNS could not use the topic key', status: 400 });
    const failed = await request.invoke(event);
    expect(failed.error).toMatchObject({ errorType: 'KMSAccessDeniedException', errorMessage: 'SNS could not use the topic key' });
    expect(logged(failed.logs, 'approval request failed')[0].error).toEqual({ name: 'KMSAccessDeniedException', message: 'SNS could not use the topic key' });
    const pending = await approval(approvalId);
    expect(pending).toMatchObject({ status: 'PENDING' });
    expect(pending!.notifiedAt).toBeUndefined();

    const retried = await request.invoke(event);
    expect(retried.result).toEqual({ approvalId, expiresAt: pending!.expiresAt });
    const mails = d.env.sns.published();
    expect(mails).toHaveLength(1);
    expect(mails[0].message).toContain(`exp=${pending!.expiresAt}&`);
    expect((await approval(approvalId))!.notifiedAt).toEqual(expect.any(Number));
  });

  test('a throttled put is retried by the SDK; a refused put fails the invocation before anyone is mailed', async () => {
    const throttled = approvalEvent();
    d.env.wire.fail({ service: 'dynamodb', action: 'PutItem', code: 'com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException', status: 400 });
    const ok = await request.invoke(throttled.event);
    expect(ok.result.approvalId).toBe(throttled.approvalId);
    expect(d.env.wire.callsOf('dynamodb', 'PutItem').map((c) => c.error)).toEqual(['com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException', undefined]);

    forgetCalls(d);
    const refused = approvalEvent();
    d.env.wire.fail({ service: 'dynamodb', action: 'PutItem', code: 'com.amazonaws.dynamodb.v20120810#AccessDeniedException', message: 'no dynamodb:PutItem', status: 400 });
    const out = await request.invoke(refused.event);
    expect(out.error).toMatchObject({ errorType: 'AccessDeniedException', errorMessage: 'no dynamodb:PutItem' });
    expect(d.env.sns.published()).toHaveLength(0);
    expect(await approval(refused.approvalId)).toBeUndefined();
  });
});

describe('failures that must not fail the approval, and requests that must fail', () => {
  test('a failed Approval Requested event is logged with its cause; the approval waits (the links are mailed)', async () => {
    const { event, approvalId } = approvalEvent();
    d.env.wire.fail({ service: 'events', action: 'PutEvents', code: 'AccessDeniedException', message: 'not authorized to put events', status: 400 });
    const out = await request.invoke(event);
    expect(out.result.approvalId).toBe(approvalId);
    expect(logged(out.logs, 'the Approval Requested event could not be sent')[0]).toMatchObject({ level: 'ERROR', approvalId, error: 'AccessDeniedException' });
    expect(d.env.sns.published()).toHaveLength(1);
    expect(await approval(approvalId)).toMatchObject({ status: 'PENDING', notifiedAt: expect.any(Number) });
  });

  test('an invalid payload fails naming the field (InvalidApprovalRequest), calls nothing, never echoes the token', async () => {
    for (const [override, message] of [
      [{ fields: { estimated_cost: { value: 1 } } }, /fields\.estimated_cost must be a string, number, boolean or null/],
      [{ stage: 'final' }, /stage must be 'primary' or 'escalation'/],
      [{ timeoutSeconds: 0 }, /timeoutSeconds must be an integer/],
    ] as const) {
      const { event, token } = approvalEvent();
      const out = await request.invoke({ ...event, ...override });
      expect(out.error?.errorType).toBe('InvalidApprovalRequest');
      expect(out.error?.errorMessage).toMatch(message);
      expect(JSON.stringify(out)).not.toContain(token);
    }
    expect(actions().filter((a) => !a.startsWith('secretsmanager:'))).toEqual([]);
  });

  test('without an escalation topic an escalation fails loudly before any write', async () => {
    const noEscalation = d.env.lambda({ ...fn, environment: { ...fn.environment, ESCALATION_TOPIC_ARN: '' } });
    const { event, approvalId } = approvalEvent('Escalate Approval');
    const out = await noEscalation.invoke(event);
    expect(out.error).toMatchObject({ errorType: 'InvalidApprovalRequest', errorMessage: expect.stringContaining('ESCALATION_TOPIC_ARN is empty') });
    expect(actions()).toEqual([]);
    expect(await approval(approvalId)).toBeUndefined();
  });

  test('a signing secret shorter than 32 characters is refused by a new execution environment, before any write', async () => {
    const arn = fn.environment.SIGNING_SECRET_ARN;
    d.env.secretsManager.rotate(arn, 'short');
    try {
      const cold = d.env.lambda(fn);
      const out = await cold.invoke(approvalEvent().event);
      expect(out.error?.errorMessage).toBe('the signing secret must hold a SecretString of at least 32 characters (version AWSCURRENT)');
      expect(actions()).toEqual(['secretsmanager:GetSecretValue']);
    } finally {
      d.env.secretsManager.rotate(arn, key.secret);
      key = signingKeyOf(d, arn);
    }
  });
});
