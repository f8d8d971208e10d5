/**
 * The IP-range sync handler at the wire: the bundled asset (from the synthesized template, with the
 * environment CloudFormation would give it) runs in a child process with the real SDK clients
 * against dynalite and the EC2 / WAFv2 / CloudFormation fakes, fetching the real published
 * documents. Every path that writes to AWS is here: custom-resource Create/Update/Delete,
 * notifications, schedules, refusals, faults, and the audit and state items in DynamoDB.
 */
import * as fs from 'fs';
import * as https from 'https';
import * as net from 'net';
import * as path from 'path';
import { DynamoDBDocumentClient, GetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { App, Stack } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { IpRangeSource, IpRangeSyncedSecurityGroup, SyncTarget } from '../../src';
import { minimalCover } from '../../src/ip-range-security-group/runtime/cidr';
import { parseAwsIpRanges } from '../../src/ip-range-security-group/runtime/documents';
import { selectAwsCidrs } from '../../src/ip-range-security-group/runtime/filter';
import { ruleDescription } from '../../src/ip-range-security-group/runtime/ownership';
import { LocalLambda } from '../harness/aws/lambda-runner';
import { OfflineStack } from '../harness/aws/offline-stack';
import { StackFunction, StackModel } from '../harness/aws/stack-model';
import { modelOfStack, tempOutdir } from '../harness/aws/synth';
import { WireEnvironment } from '../harness/aws/wire-environment';
import { SHARED_DATA_DIR } from '../harness/shared-data';

// Synthesizes a stack and starts the local services in beforeAll; runs bundled handlers as child processes.
jest.setTimeout(60_000);

const AWS_DIR = path.join(SHARED_DATA_DIR, 'aws-ip-ranges');
const VERSIONS = ['1784747826', '1784760425', '1784768825'];
const AWS_URL = 'https://ip-ranges.amazonaws.com/ip-ranges.json';
const bytesOf = (token: string) => fs.readFileSync(path.join(AWS_DIR, `ip-ranges-${token}.json`));
const snsBodies: Array<{ file: string; message: Record<string, string> }> = JSON.parse(fs.readFileSync(path.join(AWS_DIR, 'sns-messages.json'), 'utf8'));
const snsEvent = (token: string, override: Record<string, string> = {}) => ({
  Records: [{ EventSource: 'aws:sns', Sns: { Type: 'Notification', Message: JSON.stringify({ ...snsBodies.find((b) => b.file === `ip-ranges-${token}.json`)!.message, ...override }) } }],
});
const scheduleEvent = { 'source': 'aws.events', 'detail-type': 'Scheduled Event', 'detail': {} };

let model: StackModel;
let syncFn: StackFunction;
let customResourceId: string;
/** The same sync with room for two groups only (230 rules do not fit). */
let smallModel: StackModel;

beforeAll(() => {
  const app = new App({ outdir: tempOutdir('ip-sync') });
  const stack = new Stack(app, 'WireIpSync', { env: { account: '123456789012', region: 'us-east-1' } });
  const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 1, natGateways: 0, subnetConfiguration: [{ name: 'p', subnetType: ec2.SubnetType.PRIVATE_ISOLATED }] });
  new IpRangeSyncedSecurityGroup(stack, 'Ec2', {
    vpc,
    sources: [IpRangeSource.awsIpRanges({ services: ['EC2'], regions: ['us-east-1'], ipv6: false })],
    ports: [ec2.Port.tcp(443)],
    target: SyncTarget.securityGroups({ rulesPerGroup: 60, maxGroups: 5 }),
  });
  const small = new Stack(app, 'WireIpSyncSmall', { env: { account: '123456789012', region: 'us-east-1' } });
  new IpRangeSyncedSecurityGroup(small, 'Ec2', {
    vpc: new ec2.Vpc(small, 'Vpc', { maxAzs: 1, natGateways: 0, subnetConfiguration: [{ name: 'p', subnetType: ec2.SubnetType.PRIVATE_ISOLATED }] }),
    sources: [IpRangeSource.awsIpRanges({ services: ['EC2'], regions: ['us-east-1'], ipv6: false })],
    ports: [ec2.Port.tcp(443)],
    target: SyncTarget.securityGroups({ rulesPerGroup: 60, maxGroups: 2 }),
  });
  model = modelOfStack(stack);
  smallModel = modelOfStack(small);
  syncFn = model.functions().find((f) => f.environment.SYNC_ID)!;
  customResourceId = model.customResources().find((c) => c.type === 'Custom::IpRangeSync')!.logicalId;
});

interface Ctx {
  env: WireEnvironment;
  stack: OfflineStack;
  fn: LocalLambda;
  groups: string[];
  table: string;
}

async function setup(m: StackModel): Promise<Ctx> {
  const env = await WireEnvironment.start();
  const stack = new OfflineStack(env, m);
  await stack.provision();
  const fnOfModel = m.functions().find((f) => f.environment.SYNC_ID)!;
  const target = JSON.parse(fnOfModel.environment.SYNC_TARGET);
  return { env, stack, fn: stack.lambda(fnOfModel), groups: target.groupIds, table: fnOfModel.environment.SYNC_STATE_TABLE };
}

const contexts: Ctx[] = [];
async function ctx(m: StackModel = model): Promise<Ctx> {
  const c = await setup(m);
  contexts.push(c);
  return c;
}
afterEach(async () => {
  for (const c of contexts.splice(0)) {
    await c.stack.close();
    await c.env.stop();
  }
});

function serve(c: Ctx, token: string): void {
  c.env.wire.serveDocument(AWS_URL, { body: bytesOf(token) });
}

const mutating = (c: Ctx) => c.env.wire.calls.filter((x) => x.service === 'ec2' && ['AuthorizeSecurityGroupIngress', 'RevokeSecurityGroupIngress'].includes(x.action) && !x.error);
const counts = (c: Ctx) => c.groups.map((g) => c.env.ec2.cidrsOf(g).length);

const syncIdOf = (c: Ctx) => c.stack.model.functions().find((f) => f.environment.SYNC_ID)!.environment.SYNC_ID;

async function stateItem(c: Ctx): Promise<Record<string, any> | undefined> {
  const ddb = DynamoDBDocumentClient.from(c.env.dynamodb.client());
  const res = await ddb.send(new GetCommand({ TableName: c.table, Key: { pk: syncIdOf(c), sk: 'STATE' }, ConsistentRead: true }));
  return res.Item;
}

async function audits(c: Ctx): Promise<Array<Record<string, any>>> {
  const ddb = DynamoDBDocumentClient.from(c.env.dynamodb.client());
  const res = await ddb.send(new QueryCommand({
    TableName: c.table,
    KeyConditionExpression: 'pk = :pk AND begins_with(sk, :sync)',
    ExpressionAttributeValues: { ':pk': syncIdOf(c), ':sync': 'SYNC#' },
  }));
  return res.Items ?? [];
}

describe('custom resource lifecycle', () => {
  test('Create applies the rules, answers SUCCESS and writes the STATE and audit items through the real document client', async () => {
    const c = await ctx();
    serve(c, VERSIONS[0]);
    const step = await c.stack.request(customResourceId, 'Create');
    expect(step.response).toMatchObject({ Status: 'SUCCESS', Data: { Status: 'APPLIED', DesiredIpv4: '230', DesiredIpv6: '0' } });
    expect(step.response!.contentType).toBe('');
    expect(counts(c)).toEqual([60, 60, 60, 50, 0]);
    // The defect this layer found: the state item was never written (undefined `refusal`).
    expect(await stateItem(c)).toMatchObject({ awsSyncToken: VERSIONS[0] });
    const [audit] = await audits(c);
    expect(audit).toMatchObject({ status: 'APPLIED', trigger: 'deployment', desiredIpv4: 230, awsSyncToken: VERSIONS[0] });
    expect(audit.plans[0]).not.toHaveProperty('refusal');
    expect(audit.expiresAt).toBeGreaterThan(Date.now() / 1000);
  });

  test('Update with a changed property answers SUCCESS; Delete while the stack stays keeps the rules; Delete in a stack deletion revokes only owned rules', async () => {
    const c = await ctx();
    serve(c, VERSIONS[0]);
    c.env.ec2.addRule(c.groups[0], { ipProtocol: 'tcp', fromPort: 22, toPort: 22, cidrIpv4: '192.0.2.0/24', description: 'added by a person' });
    expect((await c.stack.request(customResourceId, 'Create')).response?.Status).toBe('SUCCESS');
    const props = { ...c.stack.currentProperties(customResourceId)!, MaxRemovePercent: 40 };
    const update = await c.stack.request(customResourceId, 'Update', props);
    expect(update.response).toMatchObject({ Status: 'SUCCESS', PhysicalResourceId: c.stack.physicalId(customResourceId) });

    // The person's rule uses one rule of the first group's quota: the sync leaves room for it.
    expect(counts(c)).toEqual([60, 60, 60, 51, 0]);
    c.env.cloudFormation.setStack(model.stackId, model.stackName, 'UPDATE_COMPLETE_CLEANUP_IN_PROGRESS');
    const removedAlone = await c.stack.request(customResourceId, 'Delete');
    expect(removedAlone.response?.Status).toBe('SUCCESS');
    expect(counts(c)).toEqual([60, 60, 60, 51, 0]);

    const deleted = await c.stack.deleteAll();
    expect(deleted.map((d) => d.response?.Status)).toEqual(['SUCCESS']);
    expect(counts(c)).toEqual([1, 0, 0, 0, 0]);
    expect(c.env.ec2.cidrsOf(c.groups[0])).toEqual(['192.0.2.0/24']);
  });

  test('a refused Create answers FAILED with the reason; the reply and the audit keep planned counts apart from applied ones', async () => {
    const c = await ctx(smallModel);
    serve(c, VERSIONS[0]);
    const step = await c.stack.request(smallModel.customResources()[0].logicalId, 'Create');
    expect(step.response?.Status).toBe('FAILED');
    expect(step.response?.Reason).toMatch(/sync refused \(CAPACITY\): IPv4 cover needs 230 CIDRs x 1 port range = 230 rules; 2 groups x 60 rules = 120 available/);
    expect(mutating(c)).toHaveLength(0);
    const [audit] = await audits(c);
    expect(audit).toMatchObject({ status: 'REFUSED', added: [], removed: [], plannedAdded: 230, plannedRemoved: 0 });

    const out = await c.fn.invoke(scheduleEvent);
    expect(out.result).toMatchObject({ status: 'REFUSED', added: 0, removed: 0, planned: { added: 230, removed: 0 }, mutatingCalls: 0 });
    const refusedLog = out.logs.find((l) => l.message === 'sync refused; nothing changed');
    expect(refusedLog).toMatchObject({ level: 'ERROR', applied: { added: 0, removed: 0 }, planned: { added: 230, removed: 0 } });
  });
});

describe('notifications and schedules', () => {
  test('successive published versions: adds before removes, the newest synctoken kept, a replay and an older mirror change nothing', async () => {
    const c = await ctx();
    for (const token of VERSIONS) {
      serve(c, token);
      const out = await c.fn.invoke(snsEvent(token));
      expect(out.error).toBeUndefined();
    }
    const final = counts(c);
    expect(final.reduce((a, b) => a + b, 0)).toBeGreaterThan(200);
    expect((await stateItem(c))?.awsSyncToken).toBe(VERSIONS[2]);
    // Within each sync, every authorize comes before any revoke.
    const order = c.env.wire.calls.filter((x) => x.service === 'ec2' && /SecurityGroupIngress$/.test(x.action)).map((x) => x.action[0]);
    expect(order.join('')).toMatch(/^A*R*A*R*A*R*$/);

    // A stale notification after the newer one: skipped, nothing changed.
    const before = mutating(c).length;
    serve(c, VERSIONS[1]);
    const stale = await c.fn.invoke(snsEvent(VERSIONS[1]));
    expect(stale.result).toMatchObject({ status: 'SKIPPED_STALE' });
    // A scheduled run while a mirror still serves an older document: skipped, nothing rolled back.
    const scheduled = await c.fn.invoke(scheduleEvent);
    expect(scheduled.result).toMatchObject({ status: 'SKIPPED_STALE' });
    expect(mutating(c).length).toBe(before);
    expect(counts(c)).toEqual(final);
  });

  test('a second run with the same document makes zero mutating calls', async () => {
    const c = await ctx();
    serve(c, VERSIONS[0]);
    await c.fn.invoke(snsEvent(VERSIONS[0]));
    const before = mutating(c).length;
    const again = await c.fn.invoke(scheduleEvent);
    expect(again.result).toMatchObject({ status: 'NO_CHANGE', mutatingCalls: 0 });
    expect(mutating(c).length).toBe(before);
  });

  test('md5 mismatch: the invocation fails naming it, nothing changed, nothing recorded as applied', async () => {
    const c = await ctx();
    serve(c, VERSIONS[0]);
    const out = await c.fn.invoke(snsEvent(VERSIONS[0], { md5: '0'.repeat(32) }));
    expect(out.error?.errorMessage).toMatch(/md5/i);
    expect(mutating(c)).toHaveLength(0);
    expect(await stateItem(c)).toBeUndefined();
  });

  test('rules the sync does not own are never touched', async () => {
    const c = await ctx();
    c.env.ec2.addRule(c.groups[1], { ipProtocol: 'tcp', fromPort: 443, toPort: 443, cidrIpv4: '198.51.100.0/24', description: 'partner office' });
    serve(c, VERSIONS[0]);
    await c.fn.invoke(snsEvent(VERSIONS[0]));
    serve(c, VERSIONS[2]);
    await c.fn.invoke(snsEvent(VERSIONS[2]));
    expect(c.env.ec2.rulesOf(c.groups[1]).find((r) => r.cidrIpv4 === '198.51.100.0/24')?.description).toBe('partner office');
    expect(c.env.wire.callsOf('ec2', 'RevokeSecurityGroupIngress').flatMap((x) => JSON.stringify(x.input))).not.toContain('198.51.100.0');
  });
});

describe('faults at the wire', () => {
  test('EC2 throttling (RequestLimitExceeded, HTTP 503) is retried and the sync completes', async () => {
    const c = await ctx();
    serve(c, VERSIONS[0]);
    c.env.wire.fail({ service: 'ec2', action: 'AuthorizeSecurityGroupIngress', code: 'RequestLimitExceeded', status: 503, times: 3 });
    const out = await c.fn.invoke(snsEvent(VERSIONS[0]));
    expect(out.error).toBeUndefined();
    expect(counts(c)).toEqual([60, 60, 60, 50, 0]);
    expect(c.env.wire.callsOf('ec2', 'AuthorizeSecurityGroupIngress').filter((x) => x.error === 'RequestLimitExceeded')).toHaveLength(3);
  });

  test('a rule added by another actor between plan and apply is reconciled rule by rule', async () => {
    const c = await ctx();
    serve(c, VERSIONS[0]);
    // Another run of the same sync (same ownership marker) adds the first desired rule just before this one applies.
    const first = minimalCover(selectAwsCidrs(parseAwsIpRanges(bytesOf(VERSIONS[0])), { services: ['EC2'], regions: ['us-east-1'], ipv6: false }).ipv4).ipv4[0];
    c.env.wire.beforeNext('ec2', 'AuthorizeSecurityGroupIngress', () => {
      c.env.ec2.addRule(c.groups[0], { ipProtocol: 'tcp', fromPort: 443, toPort: 443, cidrIpv4: first, description: ruleDescription(syncIdOf(c), 'ip-range-sync') });
    });
    const out = await c.fn.invoke(snsEvent(VERSIONS[0]));
    expect(out.error).toBeUndefined();
    expect(c.env.wire.callsOf('ec2', 'AuthorizeSecurityGroupIngress').some((x) => x.error === 'InvalidPermission.Duplicate')).toBe(true);
    expect(out.logs.some((l) => l.message === 'duplicate rule in batch; reconciling rule by rule')).toBe(true);
    expect(counts(c).reduce((a, b) => a + b, 0)).toBe(230);
  });

  test('when the audit write fails too, the real error is what the caller sees and both are logged', async () => {
    const c = await ctx();
    serve(c, VERSIONS[0]);
    c.env.wire.fail({ service: 'ec2', action: 'AuthorizeSecurityGroupIngress', code: 'UnauthorizedOperation', message: 'You are not authorized to perform this operation.', status: 403, times: 1 });
    c.env.wire.fail({ service: 'dynamodb', action: 'PutItem', code: 'com.amazonaws.dynamodb.v20120810#AccessDeniedException', message: 'not allowed to write the audit', status: 400, times: 20 });
    const out = await c.fn.invoke(snsEvent(VERSIONS[0]));
    expect(out.error).toMatchObject({ errorType: 'UnauthorizedOperation', errorMessage: 'You are not authorized to perform this operation.' });
    const both = out.logs.find((l) => l.message === 'sync failed and its audit record could not be written');
    expect(both?.error).toMatch(/UnauthorizedOperation/);
    expect(both?.recordError).toMatch(/AccessDeniedException/);
  });

  test('an account quota below rulesPerGroup gives an error naming the group, what it holds, the configured quota and what to do', async () => {
    const c = await ctx();
    c.env.ec2.rulesPerGroup = 50;
    serve(c, VERSIONS[0]);
    const out = await c.fn.invoke(snsEvent(VERSIONS[0]));
    expect(out.error?.errorType).toBe('RulesPerSecurityGroupLimitExceeded');
    expect(out.error?.errorMessage).toContain(`security group ${c.groups[0]} (it holds 0 inbound IPv4 and 0 inbound IPv6 rules)`);
    expect(out.error?.errorMessage).toContain('rulesPerGroup (60)');
    expect(out.error?.errorMessage).toContain('L-0EA8095F');
    expect((await audits(c))[0]).toMatchObject({ status: 'FAILED' });
  });

  test('an unreachable document host is named with its URL and cause', async () => {
    const c = await ctx();
    const closed = net.createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as net.AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    const fn = c.env.lambda(syncFn, { webRewrites: { [AWS_URL]: `https://127.0.0.1:${port}/ip-ranges.json` } });
    const out = await fn.invoke(scheduleEvent);
    expect(out.error?.errorMessage).toMatch(/^GET https:\/\/ip-ranges\.amazonaws\.com\/ip-ranges\.json failed: .*ECONNREFUSED/);
    expect(mutating(c)).toHaveLength(0);
  });
});

test('a document host whose TLS certificate is not trusted is named with its URL and the certificate error', async () => {
  const c = await ctx();
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const selfsigned = require('selfsigned') as { generate: (a: unknown, o: unknown) => Promise<{ cert: string; private: string }> };
  const pems = await selfsigned.generate([{ name: 'commonName', value: 'ip-ranges.amazonaws.com' }], { keySize: 2048, algorithm: 'sha256' });
  const untrusted = https.createServer({ cert: pems.cert, key: pems.private }, (_req, res) => res.end('{}'));
  await new Promise<void>((r) => untrusted.listen(0, '127.0.0.1', r));
  try {
    const port = (untrusted.address() as net.AddressInfo).port;
    const fn = c.env.lambda(syncFn, { webRewrites: { [AWS_URL]: `https://127.0.0.1:${port}/ip-ranges.json` } });
    const out = await fn.invoke(scheduleEvent);
    expect(out.error?.errorMessage).toMatch(/^GET https:\/\/ip-ranges\.amazonaws\.com\/ip-ranges\.json failed: .*(SELF_SIGNED|CERT|certificate)/);
    expect(mutating(c)).toHaveLength(0);
  } finally {
    untrusted.closeAllConnections();
    await new Promise<void>((r) => untrusted.close(() => r()));
  }
});

describe('GitHub meta documents', () => {
  test("GitHub's 403 keeps the body's rate-limit text", async () => {
    const app = new App({ outdir: tempOutdir('ip-sync-gh') });
    const stack = new Stack(app, 'WireGithub', { env: { account: '123456789012', region: 'us-east-1' } });
    const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 1, natGateways: 0, subnetConfiguration: [{ name: 'p', subnetType: ec2.SubnetType.PRIVATE_ISOLATED }] });
    new IpRangeSyncedSecurityGroup(stack, 'Hooks', {
      vpc,
      sources: [IpRangeSource.githubMeta({ services: ['hooks'] })],
      ports: [ec2.Port.tcp(443)],
      target: SyncTarget.securityGroups({ maxGroups: 1 }),
    });
    const gh = modelOfStack(stack);
    const env = await WireEnvironment.start();
    try {
      const offline = new OfflineStack(env, gh);
      await offline.provision();
      env.wire.serveDocument('https://api.github.com/meta', {
        status: 403,
        body: JSON.stringify({ message: "API rate limit exceeded for 203.0.113.7. (But here's the good news: Authenticated requests get a higher rate limit.)", documentation_url: 'https://docs.github.com/rest/overview/resources-in-the-rest-api#rate-limiting' }),
      });
      const fn = env.lambda(gh.functions().find((f) => f.environment.SYNC_ID)!);
      const out = await fn.invoke(scheduleEvent);
      expect(out.error?.errorMessage).toMatch(/^GET https:\/\/api\.github\.com\/meta answered HTTP 403.*API rate limit exceeded for 203\.0\.113\.7/);
    } finally {
      await env.stop();
    }
  });
});
