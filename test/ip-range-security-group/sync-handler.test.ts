import * as fs from 'fs';
import * as path from 'path';
import { FakeAws } from './fake-aws';
import { AUDIT_STATUSES, AuditStatus, SYNC_STATUSES, SyncConfig, SyncStatus } from '../../src/ip-range-security-group/runtime/contracts';
import { SyncDeps } from '../../src/ip-range-security-group/runtime/deps';
import { classifyEvent, handle } from '../../src/ip-range-security-group/runtime/sync.lambda';
import { SHARED_DATA_DIR } from '../harness/shared-data';

const AWS_DIR = path.join(SHARED_DATA_DIR, 'aws-ip-ranges');
const GITHUB_DIR = path.join(SHARED_DATA_DIR, 'github-meta');
const VERSIONS = ['1784747826', '1784760425', '1784768825'];
const bytesOf = (token: string) => fs.readFileSync(path.join(AWS_DIR, `ip-ranges-${token}.json`));
const snsBodies: Array<{ file: string; message: Record<string, string> }> = JSON.parse(fs.readFileSync(path.join(AWS_DIR, 'sns-messages.json'), 'utf8'));
const snsEvent = (token: string, override: Record<string, string> = {}) => ({
  Records: [{ Sns: { Message: JSON.stringify({ ...snsBodies.find((b) => b.file === `ip-ranges-${token}.json`)!.message, ...override }) } }],
});
const scheduleEvent = { 'source': 'aws.events', 'detail-type': 'Scheduled Event' };
const GROUPS = ['sg-1', 'sg-2', 'sg-3', 'sg-4', 'sg-5'];

function sgConfig(overrides: Partial<SyncConfig> = {}): SyncConfig {
  return {
    syncId: 'c8test',
    sources: [{ kind: 'aws', url: 'https://ip-ranges.amazonaws.com/ip-ranges.json', services: ['EC2'], regions: ['us-east-1'], ipv4: true, ipv6: false }],
    target: { kind: 'securityGroups', groupIds: GROUPS, ports: [{ protocol: 'tcp', fromPort: 443, toPort: 443 }], rulesPerGroup: 60 },
    stateTable: 'state',
    dryRun: false,
    maxRemovePercent: 50,
    auditTtlDays: 90,
    ...overrides,
  };
}

function setup(documents: Record<string, Uint8Array | string>) {
  const fake = new FakeAws();
  GROUPS.forEach((g) => fake.addGroup(g));
  const served = { ...documents };
  const logs: Array<{ level: string; message: string; extra?: Record<string, unknown> }> = [];
  const metrics: Record<string, number> = {};
  const deps: SyncDeps = {
    ec2: fake.ec2,
    waf: fake.waf,
    ddb: fake.ddb,
    fetchBytes: async (url) => {
      const doc = served[url];
      if (doc === undefined) throw new Error(`GET ${url} answered HTTP 404`);
      return typeof doc === 'string' ? Buffer.from(doc) : doc;
    },
    sleep: async () => undefined,
    now: () => new Date('2026-07-23T00:00:00Z'),
    log: {
      info: (message, extra) => logs.push({ level: 'info', message, extra }),
      warn: (message, extra) => logs.push({ level: 'warn', message, extra }),
      error: (message, extra) => logs.push({ level: 'error', message, extra }),
    },
    metrics: {
      count: (name, value) => { metrics[name] = (metrics[name] ?? 0) + value; },
      milliseconds: () => undefined,
    },
  };
  metricsByDeps.set(deps, metrics);
  return { fake, deps, served, logs, metrics };
}

const metricsByDeps = new WeakMap<SyncDeps, Record<string, number>>();
const metricsOf = (deps: SyncDeps) => metricsByDeps.get(deps)!;

const AWS_URL = 'https://ip-ranges.amazonaws.com/ip-ranges.json';

describe('sync handler: security-group target with real ip-ranges.json versions', () => {
  test('first notification: 230 merged EC2 us-east-1 IPv4 CIDRs sharded over 4 groups, then a second run makes zero mutating calls', async () => {
    const { fake, deps, metrics } = setup({ [AWS_URL]: bytesOf(VERSIONS[0]) });
    const outcome = await handle(snsEvent(VERSIONS[0]), sgConfig(), deps);
    expect(outcome!.status).toBe('APPLIED');
    expect(outcome!.desired.ipv4).toBe(230);
    expect(GROUPS.map((g) => fake.cidrsIn(g).length)).toEqual([60, 60, 60, 50, 0]);
    expect(fake.rules.get('sg-1')![0].Description).toMatch(/^managed-by:cdk-production-patterns:c8test/);
    expect(metrics.SuccessfulSync).toBe(1);

    const callsBefore = fake.mutatingCalls();
    const again = await handle(scheduleEvent, sgConfig(), deps);
    expect(again!.status).toBe('NO_CHANGE');
    expect(fake.mutatingCalls()).toBe(callsBefore);
    expect(again!.mutatingCalls).toBe(0);
  });

  test('successive versions: IPv6 /64s added then replaced by /56s, adding before removing', async () => {
    const config = sgConfig({ sources: [{ kind: 'aws', url: AWS_URL, services: ['EC2'], regions: ['us-east-1'], ipv4: true, ipv6: true }] });
    const { fake, deps, served } = setup({ [AWS_URL]: bytesOf(VERSIONS[0]) });
    await handle(snsEvent(VERSIONS[0]), config, deps);
    served[AWS_URL] = bytesOf(VERSIONS[1]);
    const second = await handle(snsEvent(VERSIONS[1]), config, deps);
    expect(second!.removed).toEqual([]);
    expect(second!.added.map((a) => a.split(' ')[1]).sort()).toEqual(['2600:f0f3:f010:3400::/63', '2600:f0f3:f010:3800::/63']);

    served[AWS_URL] = bytesOf(VERSIONS[2]);
    const mark = fake.calls.length;
    const third = await handle(snsEvent(VERSIONS[2]), config, deps);
    expect(third!.added.map((a) => a.split(' ')[1])).toEqual(expect.arrayContaining([expect.stringMatching(/\/56$/)]));
    expect(third!.removed.map((a) => a.split(' ')[1]).sort()).toEqual(['2600:f0f3:f010:3400::/63', '2600:f0f3:f010:3800::/63']);
    const mutating = fake.calls.slice(mark).map((c) => c.command).filter((c) => c !== 'DescribeSecurityGroupRulesCommand' && c !== 'PutCommand' && c !== 'GetCommand');
    expect(mutating).toEqual(['AuthorizeSecurityGroupIngressCommand', 'RevokeSecurityGroupIngressCommand']);
    const state = fake.items.get('c8test|STATE')!;
    expect(state.awsSyncToken).toBe(VERSIONS[2]);
    expect(state.md5).toBe(snsBodies.find((b) => b.file.includes(VERSIONS[2]))!.message.md5);
  });

  test('a notification whose synctoken is not newer than the last applied one changes nothing', async () => {
    const { fake, deps, served } = setup({ [AWS_URL]: bytesOf(VERSIONS[1]) });
    await handle(snsEvent(VERSIONS[1]), sgConfig(), deps);
    const calls = fake.calls.length;
    served[AWS_URL] = bytesOf(VERSIONS[0]);
    const outcome = await handle(snsEvent(VERSIONS[0]), sgConfig(), deps);
    expect(outcome!.status).toBe('SKIPPED_STALE');
    expect(fake.calls.slice(calls).map((c) => c.command)).toEqual(['GetCommand']);
  });

  test('md5 mismatch: error, nothing changed', async () => {
    const { fake, deps } = setup({ [AWS_URL]: bytesOf(VERSIONS[0]) });
    await expect(handle(snsEvent(VERSIONS[0], { md5: '0'.repeat(32) }), sgConfig(), deps)).rejects.toThrow(/md5/i);
    expect(fake.mutatingCalls()).toBe(0);
  });

  test('truncated JSON: error naming the document, nothing changed', async () => {
    const truncated = bytesOf(VERSIONS[0]).subarray(0, 100_000);
    const { fake, deps } = setup({ [AWS_URL]: truncated });
    await expect(handle(scheduleEvent, sgConfig(), deps)).rejects.toThrow(/JSON/);
    expect(fake.mutatingCalls()).toBe(0);
  });

  test('wrong schema: error naming the field, nothing changed', async () => {
    const { fake, deps } = setup({ [AWS_URL]: JSON.stringify({ syncToken: '1', createDate: '2026-07-23-12-00-00', prefixes: [{ ip_prefix: 'not-a-cidr', region: 'us-east-1', service: 'EC2' }], ipv6_prefixes: [] }) });
    await expect(handle(scheduleEvent, sgConfig(), deps)).rejects.toThrow(/prefixes\[0\]\.ip_prefix/);
    expect(fake.mutatingCalls()).toBe(0);
  });

  test('over capacity: refused with the numbers, recorded, alarm metric, nothing changed', async () => {
    const { fake, deps, metrics } = setup({ [AWS_URL]: bytesOf(VERSIONS[0]) });
    const config = sgConfig({ target: { kind: 'securityGroups', groupIds: ['sg-1', 'sg-2', 'sg-3'], ports: [{ protocol: 'tcp', fromPort: 443, toPort: 443 }], rulesPerGroup: 60 } });
    const outcome = await handle(scheduleEvent, config, deps);
    expect(outcome!.status).toBe('REFUSED');
    expect(outcome!.refusal).toEqual({ code: 'CAPACITY', message: expect.stringMatching(/230.*180/s) });
    expect(fake.mutatingCalls()).toBe(0);
    expect(metrics.CapacityExceeded).toBe(1);
    expect(fake.audits()[0]).toEqual(expect.objectContaining({ status: 'REFUSED' }));
  });

  test('guard: refuses to remove more than maxRemovePercent of the rules', async () => {
    const { fake, deps, served, metrics } = setup({ [AWS_URL]: bytesOf(VERSIONS[0]) });
    await handle(scheduleEvent, sgConfig(), deps);
    const before = fake.mutatingCalls();
    // A (legitimate looking) document where EC2 us-east-1 shrank to a single range.
    served[AWS_URL] = JSON.stringify({ syncToken: '1784800000', createDate: '2026-07-23-12-00-00', prefixes: [{ ip_prefix: '3.80.0.0/12', region: 'us-east-1', service: 'EC2', network_border_group: 'us-east-1' }], ipv6_prefixes: [] });
    const outcome = await handle(scheduleEvent, sgConfig(), deps);
    expect(outcome!.refusal?.code).toBe('TOO_MANY_REMOVALS');
    expect(fake.mutatingCalls()).toBe(before);
    expect(metrics.GuardRefusal).toBe(1);
  });

  test('throttling, then success', async () => {
    const { fake, deps } = setup({ [AWS_URL]: bytesOf(VERSIONS[0]) });
    const throttle = () => Object.assign(new Error('Request limit exceeded.'), { name: 'RequestLimitExceeded' });
    fake.faults.set('AuthorizeSecurityGroupIngressCommand', [throttle(), throttle()]);
    const outcome = await handle(scheduleEvent, sgConfig(), deps);
    expect(outcome!.status).toBe('APPLIED');
    expect(GROUPS.map((g) => fake.cidrsIn(g).length).reduce((a, b) => a + b)).toBe(230);
  });

  test('a rule added by a concurrent actor between plan and apply (duplicate) is reconciled rule by rule', async () => {
    const { fake, deps } = setup({ [AWS_URL]: bytesOf(VERSIONS[0]) });
    const planned = await handle(scheduleEvent, sgConfig({ dryRun: true }), deps);
    const [groupId, cidr] = planned!.added[5].split(' ');
    // Just before the first authorize, the same owned rule appears (e.g. a concurrent sync added it).
    fake.before.set('AuthorizeSecurityGroupIngressCommand', () => fake.addRule(groupId, {
      IpProtocol: 'tcp', FromPort: 443, ToPort: 443, CidrIpv4: cidr, Description: 'managed-by:cdk-production-patterns:c8test',
    }));
    const outcome = await handle(scheduleEvent, sgConfig(), deps);
    expect(outcome!.status).toBe('APPLIED');
    const authorizes = fake.calls.filter((c) => c.command === 'AuthorizeSecurityGroupIngressCommand');
    expect(authorizes.length).toBeGreaterThan(4 + 59); // the failed batch was retried rule by rule
    expect(fake.cidrsIn(groupId).filter((c) => c === cidr)).toHaveLength(1);
    expect(GROUPS.map((g) => fake.cidrsIn(g).length).reduce((a, b) => a + b)).toBe(230);
  });

  test('a scheduled run that fetches an older document (stale cache) changes nothing and keeps the newer token', async () => {
    const { fake, deps, served } = setup({ [AWS_URL]: bytesOf(VERSIONS[2]) });
    await handle(snsEvent(VERSIONS[2]), sgConfig({ sources: [{ kind: 'aws', url: AWS_URL, services: ['EC2'], regions: ['us-east-1'], ipv4: true, ipv6: true }] }), deps);
    const before = fake.mutatingCalls();
    served[AWS_URL] = bytesOf(VERSIONS[0]);
    const outcome = await handle(scheduleEvent, sgConfig({ sources: [{ kind: 'aws', url: AWS_URL, services: ['EC2'], regions: ['us-east-1'], ipv4: true, ipv6: true }] }), deps);
    expect(outcome!.status).toBe('SKIPPED_STALE');
    expect(fake.mutatingCalls()).toBe(before);
    expect(fake.items.get('c8test|STATE')!.awsSyncToken).toBe(VERSIONS[2]);
  });

  test('a failure part-way through apply is recorded with the calls made, then rethrown', async () => {
    const { fake, deps } = setup({ [AWS_URL]: bytesOf(VERSIONS[0]) });
    // The second authorize call fails with a non-retryable error.
    fake.before.set('AuthorizeSecurityGroupIngressCommand', () => {
      fake.before.set('AuthorizeSecurityGroupIngressCommand', () => {
        fake.faults.set('AuthorizeSecurityGroupIngressCommand', [Object.assign(new Error('boom'), { name: 'InternalError' })]);
      });
    });
    await expect(handle(scheduleEvent, sgConfig(), deps)).rejects.toThrow('boom');
    expect(fake.audits()).toEqual([expect.objectContaining({ status: 'FAILED', error: 'InternalError: boom', mutatingCallsBeforeFailure: 2 })]);
    expect(fake.cidrsIn('sg-1')).toHaveLength(60);
  });

  test('rules it does not own are never touched', async () => {
    const { fake, deps } = setup({ [AWS_URL]: bytesOf(VERSIONS[0]) });
    fake.addRule('sg-1', { IpProtocol: 'tcp', FromPort: 22, ToPort: 22, CidrIpv4: '198.51.100.0/24', Description: 'office ssh' });
    await handle(scheduleEvent, sgConfig(), deps);
    expect(fake.rules.get('sg-1')!.find((r) => r.CidrIpv4 === '198.51.100.0/24')).toBeDefined();
    expect(fake.calls.filter((c) => c.command === 'RevokeSecurityGroupIngressCommand')).toHaveLength(0);
    // its quota is respected: sg-1 holds 59 synced rules plus the person's rule
    expect(fake.cidrsIn('sg-1')).toHaveLength(60);
  });

  test('dry run logs and records the plan and changes nothing', async () => {
    const { fake, deps } = setup({ [AWS_URL]: bytesOf(VERSIONS[0]) });
    const outcome = await handle(scheduleEvent, sgConfig({ dryRun: true }), deps);
    expect(outcome!.status).toBe('DRY_RUN');
    expect(outcome!.added).toHaveLength(230);
    expect(metricsOf(deps).SuccessfulSync).toBe(1); // a dry run keeps the staleness alarm quiet
    expect(fake.mutatingCalls()).toBe(0);
    expect(fake.audits()[0]).toEqual(expect.objectContaining({ status: 'DRY_RUN' }));
  });

  test('audit record: counts, synctoken, md5, added CIDRs, TTL', async () => {
    const { fake, deps } = setup({ [AWS_URL]: bytesOf(VERSIONS[0]) });
    await handle(snsEvent(VERSIONS[0]), sgConfig(), deps);
    const audit = fake.audits()[0];
    expect(audit).toEqual(expect.objectContaining({
      status: 'APPLIED',
      trigger: 'notification',
      awsSyncToken: VERSIONS[0],
      desiredIpv4: 230,
      expiresAt: Math.floor(new Date('2026-07-23T00:00:00Z').getTime() / 1000) + 90 * 86400,
    }));
    expect((audit.added as string[])).toHaveLength(230);
  });
});

describe('sync handler: CloudFormation custom resource', () => {
  const cfn = (RequestType: string) => ({
    RequestType,
    ResponseURL: 'https://cfn.invalid/r',
    StackId: 'stack',
    RequestId: 'r1',
    LogicalResourceId: 'InitialSync',
    PhysicalResourceId: RequestType === 'Create' ? undefined : 'ip-range-sync-c8test',
    ResourceProperties: {},
  });
  const responder = () => {
    const responses: any[] = [];
    return { responses, put: async (_u: string, body: string) => { responses.push(JSON.parse(body)); return { status: 200 }; } };
  };

  test('Create syncs and answers SUCCESS; Delete during stack deletion revokes the owned rules only', async () => {
    const { fake, deps } = setup({ [AWS_URL]: bytesOf(VERSIONS[0]) });
    fake.addRule('sg-2', { IpProtocol: 'tcp', FromPort: 22, ToPort: 22, CidrIpv4: '198.51.100.0/24', Description: 'office ssh' });
    const r = responder();
    await handle(cfn('Create'), sgConfig(), deps, r.put);
    expect(r.responses[0]).toEqual(expect.objectContaining({ Status: 'SUCCESS', Data: expect.objectContaining({ DesiredIpv4: '230' }) }));
    await handle(cfn('Delete'), sgConfig(), deps, r.put, async () => 'DELETE_IN_PROGRESS');
    expect(r.responses[1].Status).toBe('SUCCESS');
    expect(GROUPS.flatMap((g) => fake.cidrsIn(g))).toEqual(['198.51.100.0/24']);
  });

  test('Delete of the custom resource alone (the stack stays) keeps the rules', async () => {
    const { fake, deps } = setup({ [AWS_URL]: bytesOf(VERSIONS[0]) });
    const r = responder();
    await handle(cfn('Create'), sgConfig(), deps, r.put);
    await handle(cfn('Delete'), sgConfig(), deps, r.put, async () => 'UPDATE_COMPLETE_CLEANUP_IN_PROGRESS');
    expect(r.responses[1].Status).toBe('SUCCESS');
    expect(GROUPS.flatMap((g) => fake.cidrsIn(g))).toHaveLength(230);
  });

  test('Create that is refused answers FAILED with the reason (the stack rolls back)', async () => {
    const { deps } = setup({ [AWS_URL]: bytesOf(VERSIONS[0]) });
    const r = responder();
    await handle(cfn('Create'), sgConfig({ target: { kind: 'securityGroups', groupIds: ['sg-1'], ports: [{ protocol: 'tcp', fromPort: 443, toPort: 443 }], rulesPerGroup: 60 } }), deps, r.put);
    expect(r.responses[0].Status).toBe('FAILED');
    expect(r.responses[0].Reason).toMatch(/CAPACITY/);
  });

  test('Update that fails answers SUCCESS (a FAILED update would fail its rollback too) and counts a SyncFailure', async () => {
    const { deps, metrics } = setup({ [AWS_URL]: 'not json' });
    const r = responder();
    await handle(cfn('Update'), sgConfig(), deps, r.put);
    expect(r.responses[0]).toEqual(expect.objectContaining({ Status: 'SUCCESS', Data: { Status: 'FAILED' }, Reason: expect.stringMatching(/JSON/) }));
    expect(metrics.SyncFailure).toBe(1);
  });
});

describe('sync handler: prefix list and WAF targets with GitHub meta', () => {
  const META_URL = 'https://api.github.com/meta';
  const meta = (name: string) => fs.readFileSync(path.join(GITHUB_DIR, name));

  test('GitHub hooks into a prefix list per family, in versioned calls', async () => {
    const { fake, deps } = setup({ [META_URL]: meta('meta-2025-07-21T16-30-27Z.json') });
    fake.addPrefixList('pl-4', 30);
    // each modification leaves the list modify-in-progress for one check: the sync waits for it
    fake.addPrefixList('pl-6', 30);
    const config = sgConfig({
      sources: [{ kind: 'github', url: META_URL, services: ['hooks'], ipv4: true, ipv6: true }],
      target: { kind: 'prefixList', lists: [{ family: 'ipv4', id: 'pl-4', maxEntries: 30 }, { family: 'ipv6', id: 'pl-6', maxEntries: 30 }] },
    });
    const outcome = await handle(scheduleEvent, config, deps);
    expect(outcome!.status).toBe('APPLIED');
    expect(fake.prefixLists.get('pl-4')!.entries.length).toBeGreaterThan(0);
    expect(fake.prefixLists.get('pl-6')!.entries.length).toBeGreaterThan(0);
    expect(fake.prefixLists.get('pl-4')!.version).toBe(2);
    expect(fake.calls.filter((c) => c.command === 'DescribeManagedPrefixListsCommand').length).toBeGreaterThanOrEqual(4);
    const calls = fake.mutatingCalls();
    await handle(scheduleEvent, config, deps);
    expect(fake.mutatingCalls()).toBe(calls);
  });

  test('GitHub actions (thousands of CIDRs) into WAF IP sets, then a real change updates once per family', async () => {
    const { fake, deps, served } = setup({ [META_URL]: meta('meta-2025-07-21T16-30-27Z.json') });
    fake.addIpSet('ip4', 'n4');
    fake.addIpSet('ip6', 'n6');
    const config = sgConfig({
      sources: [{ kind: 'github', url: META_URL, services: ['actions'], ipv4: true, ipv6: true }],
      target: { kind: 'wafIpSet', scope: 'REGIONAL', sets: [{ family: 'ipv4', id: 'ip4', name: 'n4', maxAddresses: 10000 }, { family: 'ipv6', id: 'ip6', name: 'n6', maxAddresses: 10000 }] },
    });
    const first = await handle(scheduleEvent, config, deps);
    expect(first!.desired).toEqual({ ipv4: 2850, ipv6: 875 });
    expect(fake.ipSets.get('ip4')!.addresses).toHaveLength(2850);
    served[META_URL] = meta('meta-2025-07-21T21-00-29Z.json');
    const mark = fake.mutatingCalls();
    const second = await handle(scheduleEvent, config, deps);
    expect(second!.status).toBe('APPLIED');
    expect(fake.mutatingCalls() - mark).toBe(2);
    expect(fake.ipSets.get('ip4')!.addresses).toHaveLength(2855);
    expect(fake.ipSets.get('ip4')!.description).toBe('synced by cdk-production-patterns'); // kept by UpdateIPSet
  });

  test('a prefix list changed by someone else between plan and apply fails the sync instead of applying a stale plan', async () => {
    const { fake, deps } = setup({ [META_URL]: meta('meta-2025-07-21T16-30-27Z.json') });
    fake.addPrefixList('pl-4', 30);
    const config = sgConfig({
      sources: [{ kind: 'github', url: META_URL, services: ['hooks'], ipv4: true, ipv6: false }],
      target: { kind: 'prefixList', lists: [{ family: 'ipv4', id: 'pl-4', maxEntries: 30 }] },
    });
    // Planning reads the list; then, before the first modification, someone else changes it.
    fake.before.set('GetManagedPrefixListEntriesCommand', () => {
      fake.before.set('DescribeManagedPrefixListsCommand', () => { fake.prefixLists.get('pl-4')!.version++; });
    });
    await expect(handle(scheduleEvent, config, deps)).rejects.toThrow(/pl-4 changed while syncing \(version 2, expected 1\)/);
    expect(fake.mutatingCalls()).toBe(0);
  });

  test('a lost WAF lock token is re-read and the update retried', async () => {
    const { fake, deps } = setup({ [META_URL]: meta('meta-2025-07-21T16-30-27Z.json') });
    fake.addIpSet('ip4', 'n4');
    const config = sgConfig({
      sources: [{ kind: 'github', url: META_URL, services: ['hooks'], ipv4: true, ipv6: false }],
      target: { kind: 'wafIpSet', scope: 'REGIONAL', sets: [{ family: 'ipv4', id: 'ip4', name: 'n4', maxAddresses: 10000 }] },
    });
    fake.faults.set('UpdateIPSetCommand', [Object.assign(new Error('lock'), { name: 'WAFOptimisticLockException' })]);
    await handle(scheduleEvent, config, deps);
    expect(fake.ipSets.get('ip4')!.addresses.length).toBeGreaterThan(0);
  });
});

describe('event classification', () => {
  test('SNS, schedule, CloudFormation and manual events', () => {
    expect(classifyEvent(snsEvent(VERSIONS[0]))).toEqual({ kind: 'sync', request: expect.objectContaining({ trigger: 'notification', notification: expect.objectContaining({ syncToken: VERSIONS[0] }) }) });
    expect(classifyEvent(scheduleEvent)).toEqual({ kind: 'sync', request: { trigger: 'schedule' } });
    expect(classifyEvent({ RequestType: 'Create', ResponseURL: 'x' }).kind).toBe('cfn');
    expect(classifyEvent({})).toEqual({ kind: 'sync', request: { trigger: 'manual' } });
  });

  test('a malformed SNS body is rejected with the field named', () => {
    expect(() => classifyEvent({ Records: [{ Sns: { Message: '{"synctoken":"1"}' } }] })).toThrow(/create-time|md5|url/);
  });
});

describe('sync statuses: the types tell the truth', () => {
  // Before: SyncStatus had no FAILED although FAILED is recorded, the audit record was an untyped
  // Record<string, unknown>, and runSync's comment said a refusal throws (it returns REFUSED).
  test('every recorded status is an AuditStatus (FAILED included); every returned one a SyncStatus (never FAILED)', async () => {
    const returned: string[] = [];
    const { fake, deps, served } = setup({ [AWS_URL]: bytesOf(VERSIONS[0]) });
    returned.push((await handle(scheduleEvent, sgConfig({ dryRun: true }), deps))!.status); // DRY_RUN
    returned.push((await handle(scheduleEvent, sgConfig(), deps))!.status); // APPLIED
    returned.push((await handle(scheduleEvent, sgConfig(), deps))!.status); // NO_CHANGE
    returned.push((await handle(snsEvent(VERSIONS[0]), sgConfig(), deps))!.status); // SKIPPED_STALE
    // A refusal resolves (it is deterministic: a retry would refuse again) and is recorded.
    const refused = sgConfig({ target: { kind: 'securityGroups', groupIds: ['sg-5'], ports: [{ protocol: 'tcp', fromPort: 443, toPort: 443 }], rulesPerGroup: 60 } });
    returned.push((await handle(scheduleEvent, refused, deps))!.status); // REFUSED
    // A failed apply throws: FAILED is recorded, never returned.
    served[AWS_URL] = bytesOf(VERSIONS[1]);
    const v6 = sgConfig({ sources: [{ kind: 'aws', url: AWS_URL, services: ['EC2'], regions: ['us-east-1'], ipv4: true, ipv6: true }] });
    fake.faults.set('AuthorizeSecurityGroupIngressCommand', [Object.assign(new Error('boom'), { name: 'InternalError' })]);
    await expect(handle(scheduleEvent, v6, deps)).rejects.toThrow('boom');

    const recorded = fake.audits().map((a) => a.status as string);
    expect(recorded.sort()).toEqual(['APPLIED', 'DRY_RUN', 'FAILED', 'NO_CHANGE', 'REFUSED']);
    expect(returned.sort()).toEqual(['APPLIED', 'DRY_RUN', 'NO_CHANGE', 'REFUSED', 'SKIPPED_STALE']);
    expect([...AUDIT_STATUSES].sort()).toEqual(recorded);
    expect([...SYNC_STATUSES].sort()).toEqual(returned);

    const failed: AuditStatus = 'FAILED';
    // @ts-expect-error a failed sync throws: FAILED is not an outcome status
    const notReturned: SyncStatus = 'FAILED';
    // @ts-expect-error a skipped stale sync writes no audit record
    const notRecorded: AuditStatus = 'SKIPPED_STALE';
    expect([failed, notReturned, notRecorded]).toHaveLength(3);
  });
});
