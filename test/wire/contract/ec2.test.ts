/**
 * Contract of the EC2 fake: requests built by the real SDK parse, answers deserialize, and every
 * error it returns reaches the handler under the name the handler switches on.
 */
import {
  AuthorizeSecurityGroupEgressCommand, AuthorizeSecurityGroupIngressCommand, DescribeManagedPrefixListsCommand,
  DescribeSecurityGroupRulesCommand, EC2Client, GetManagedPrefixListEntriesCommand, ModifyManagedPrefixListCommand,
  RevokeSecurityGroupEgressCommand, RevokeSecurityGroupIngressCommand,
} from '@aws-sdk/client-ec2';
import { failureOf } from './kit';
import { Ec2Service } from '../../harness/aws/services/ec2';
import { WireServer } from '../../harness/aws/wire-server';

const wire = new WireServer();
const ec2 = new Ec2Service();
let client: EC2Client;

beforeAll(async () => {
  wire.register(ec2);
  await wire.start();
  client = new EC2Client({ region: 'us-east-1', endpoint: wire.url, credentials: { accessKeyId: 'AKIDWIRETEST00000000', secretAccessKey: 'x' }, maxAttempts: 1 });
});
afterAll(() => wire.stop());

const perm = (cidrs: string[], port = 443) => ({
  IpProtocol: 'tcp',
  FromPort: port,
  ToPort: port,
  IpRanges: cidrs.filter((c) => !c.includes(':')).map((CidrIp) => ({ CidrIp, Description: 'ip-range-sync:test' })),
  Ipv6Ranges: cidrs.filter((c) => c.includes(':')).map((CidrIpv6) => ({ CidrIpv6, Description: 'ip-range-sync:test' })),
});

const nameOf = async (p: Promise<unknown>): Promise<string> => (await failureOf(p)).name;

test('authorize, describe (paged) and revoke by id round-trip through the real SDK', async () => {
  ec2.createSecurityGroup('sg-00000000000000001');
  const added = await client.send(new AuthorizeSecurityGroupIngressCommand({ GroupId: 'sg-00000000000000001', IpPermissions: [perm(['10.0.0.0/24', '10.0.1.0/24', '2600:1f18::/36'])] }));
  expect(added.Return).toBe(true);
  expect(added.SecurityGroupRules?.map((r) => r.CidrIpv4 ?? r.CidrIpv6)).toEqual(['10.0.0.0/24', '10.0.1.0/24', '2600:1f18::/36']);
  expect(added.SecurityGroupRules?.[0].SecurityGroupRuleId).toMatch(/^sgr-/);

  const page1 = await client.send(new DescribeSecurityGroupRulesCommand({ Filters: [{ Name: 'group-id', Values: ['sg-00000000000000001'] }], MaxResults: 5 }));
  expect(page1.SecurityGroupRules).toHaveLength(3);
  expect(page1.SecurityGroupRules?.[2]).toMatchObject({ GroupId: 'sg-00000000000000001', IsEgress: false, IpProtocol: 'tcp', FromPort: 443, ToPort: 443, CidrIpv6: '2600:1f18::/36', Description: 'ip-range-sync:test' });

  const ids = added.SecurityGroupRules!.slice(0, 2).map((r) => r.SecurityGroupRuleId!);
  await client.send(new RevokeSecurityGroupIngressCommand({ GroupId: 'sg-00000000000000001', SecurityGroupRuleIds: ids }));
  expect(ec2.cidrsOf('sg-00000000000000001')).toEqual(['2600:1f18::/36']);
});

test('authorize is all-or-nothing: a duplicate fails the call with InvalidPermission.Duplicate and adds nothing', async () => {
  ec2.createSecurityGroup('sg-00000000000000002');
  ec2.addRule('sg-00000000000000002', { ipProtocol: 'tcp', fromPort: 443, toPort: 443, cidrIpv4: '10.0.0.0/24' });
  expect(await nameOf(client.send(new AuthorizeSecurityGroupIngressCommand({ GroupId: 'sg-00000000000000002', IpPermissions: [perm(['10.9.0.0/24', '10.0.0.0/24'])] }))))
    .toBe('InvalidPermission.Duplicate');
  expect(ec2.cidrsOf('sg-00000000000000002')).toEqual(['10.0.0.0/24']);
});

test('the rules-per-group quota counts IPv4 and IPv6 apart and refuses the whole call', async () => {
  ec2.createSecurityGroup('sg-00000000000000003');
  ec2.rulesPerGroup = 3;
  try {
    await client.send(new AuthorizeSecurityGroupIngressCommand({ GroupId: 'sg-00000000000000003', IpPermissions: [perm(['10.0.0.0/24', '10.0.1.0/24', '10.0.2.0/24', '2600::/32', '2601::/32', '2602::/32'])] }));
    const err = await client.send(new AuthorizeSecurityGroupIngressCommand({ GroupId: 'sg-00000000000000003', IpPermissions: [perm(['10.0.3.0/24'])] })).catch((e: Error) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).name).toBe('RulesPerSecurityGroupLimitExceeded');
    expect((err as Error).message).toBe('The maximum number of rules per security group has been reached.');
    expect(ec2.cidrsOf('sg-00000000000000003')).toHaveLength(6);
  } finally {
    ec2.rulesPerGroup = 60;
  }
});

test('revoking an unknown rule fails the whole call (non-default VPC) with the name the handler reconciles on', async () => {
  ec2.createSecurityGroup('sg-00000000000000004');
  ec2.addRule('sg-00000000000000004', { ipProtocol: 'tcp', fromPort: 443, toPort: 443, cidrIpv4: '10.0.0.0/24', description: 'x' });
  expect(await nameOf(client.send(new RevokeSecurityGroupIngressCommand({ GroupId: 'sg-00000000000000004', IpPermissions: [perm(['10.0.0.0/24', '10.5.0.0/24'])] }))))
    .toBe('InvalidPermission.NotFound');
  expect(await nameOf(client.send(new RevokeSecurityGroupIngressCommand({ GroupId: 'sg-00000000000000004', SecurityGroupRuleIds: ['sgr-00000000000009999'] }))))
    .toBe('InvalidSecurityGroupRuleId.NotFound');
  expect(ec2.cidrsOf('sg-00000000000000004')).toEqual(['10.0.0.0/24']);
  expect(await nameOf(client.send(new DescribeSecurityGroupRulesCommand({ Filters: [{ Name: 'group-id', Values: ['sg-0'] }] })))).toBe('no error');
  expect(await nameOf(client.send(new AuthorizeSecurityGroupIngressCommand({ GroupId: 'sg-0000000000000dead', IpPermissions: [perm(['10.0.0.0/8'])] })))).toBe('InvalidGroup.NotFound');
});

test('prefix lists: versions as an optimistic lock, modify-in-progress, 100 entries per call, max entries', async () => {
  ec2.createPrefixList('pl-00000000000000001', { maxEntries: 3 });
  const d1 = await client.send(new DescribeManagedPrefixListsCommand({ PrefixListIds: ['pl-00000000000000001'] }));
  expect(d1.PrefixLists?.[0]).toMatchObject({ PrefixListId: 'pl-00000000000000001', Version: 1, State: 'create-complete', MaxEntries: 3, AddressFamily: 'IPv4' });

  await client.send(new ModifyManagedPrefixListCommand({ PrefixListId: 'pl-00000000000000001', CurrentVersion: 1, AddEntries: [{ Cidr: '10.0.0.0/24', Description: 'd' }, { Cidr: '10.0.1.0/24' }] }));
  const busy = await client.send(new DescribeManagedPrefixListsCommand({ PrefixListIds: ['pl-00000000000000001'] }));
  expect(busy.PrefixLists?.[0]).toMatchObject({ Version: 2, State: 'modify-in-progress' });
  const done = await client.send(new DescribeManagedPrefixListsCommand({ PrefixListIds: ['pl-00000000000000001'] }));
  expect(done.PrefixLists?.[0].State).toBe('modify-complete');

  const entries = await client.send(new GetManagedPrefixListEntriesCommand({ PrefixListId: 'pl-00000000000000001', TargetVersion: 2, MaxResults: 1 }));
  expect(entries.Entries).toEqual([{ Cidr: '10.0.0.0/24', Description: 'd' }]);
  expect(entries.NextToken).toBeDefined();

  expect(await nameOf(client.send(new ModifyManagedPrefixListCommand({ PrefixListId: 'pl-00000000000000001', CurrentVersion: 1, AddEntries: [{ Cidr: '10.0.2.0/24' }] })))).toBe('PrefixListVersionMismatch');
  expect(await nameOf(client.send(new ModifyManagedPrefixListCommand({ PrefixListId: 'pl-00000000000000001', CurrentVersion: 2, AddEntries: [{ Cidr: '10.0.2.0/24' }, { Cidr: '10.0.3.0/24' }] })))).toBe('PrefixListMaxEntriesExceeded');
  const many = Array.from({ length: 101 }, (_, i) => ({ Cidr: `10.1.${i}.0/24` }));
  expect(await nameOf(client.send(new ModifyManagedPrefixListCommand({ PrefixListId: 'pl-00000000000000001', CurrentVersion: 2, AddEntries: many })))).toBe('InvalidParameterValue');
  expect(ec2.prefixList('pl-00000000000000001')).toEqual({ version: 2, maxEntries: 3, cidrs: ['10.0.0.0/24', '10.0.1.0/24'] });
});

test('injected faults reach the SDK as the named error (throttling is retried by the SDK itself)', async () => {
  ec2.createSecurityGroup('sg-00000000000000005');
  wire.fail({ service: 'ec2', action: 'DescribeSecurityGroupRules', code: 'RequestLimitExceeded', status: 503, times: 1 });
  expect(await nameOf(client.send(new DescribeSecurityGroupRulesCommand({ Filters: [{ Name: 'group-id', Values: ['sg-00000000000000005'] }] })))).toBe('RequestLimitExceeded');
  const retrying = new EC2Client({ region: 'us-east-1', endpoint: wire.url, credentials: { accessKeyId: 'AKIDWIRETEST00000000', secretAccessKey: 'x' }, maxAttempts: 3, retryMode: 'standard' });
  wire.fail({ service: 'ec2', action: 'DescribeSecurityGroupRules', code: 'RequestLimitExceeded', status: 503, times: 1 });
  const before = wire.callsOf('ec2', 'DescribeSecurityGroupRules').length;
  await retrying.send(new DescribeSecurityGroupRulesCommand({ Filters: [{ Name: 'group-id', Values: ['sg-00000000000000005'] }] }));
  expect(wire.callsOf('ec2', 'DescribeSecurityGroupRules').length - before).toBe(2);

  wire.fail({ service: 'ec2', action: 'AuthorizeSecurityGroupIngress', code: 'InternalError', status: 500, afterApply: true });
  expect(await nameOf(client.send(new AuthorizeSecurityGroupIngressCommand({ GroupId: 'sg-00000000000000005', IpPermissions: [perm(['10.7.0.0/24'])] })))).toBe('InternalError');
  expect(ec2.cidrsOf('sg-00000000000000005')).toEqual(['10.7.0.0/24']);
});

test('a default group: its self-referencing ingress and all-traffic egress rules are revoked and put back by group pair and CIDR', async () => {
  ec2.createSecurityGroup('sg-0000000000000def0', { defaultRules: true });
  const selfRef = { GroupId: 'sg-0000000000000def0', IpPermissions: [{ IpProtocol: '-1', UserIdGroupPairs: [{ GroupId: 'sg-0000000000000def0', UserId: '123456789012' }] }] };
  const allOut = { GroupId: 'sg-0000000000000def0', IpPermissions: [{ IpProtocol: '-1', IpRanges: [{ CidrIp: '0.0.0.0/0' }] }] };
  const described = await client.send(new DescribeSecurityGroupRulesCommand({ Filters: [{ Name: 'group-id', Values: ['sg-0000000000000def0'] }] }));
  expect(described.SecurityGroupRules?.map((r) => [r.IsEgress, r.ReferencedGroupInfo?.GroupId ?? r.CidrIpv4])).toEqual([[false, 'sg-0000000000000def0'], [true, '0.0.0.0/0']]);
  await client.send(new RevokeSecurityGroupIngressCommand(selfRef));
  await client.send(new RevokeSecurityGroupEgressCommand(allOut));
  expect([ec2.rulesOf('sg-0000000000000def0').length, ec2.egressRulesOf('sg-0000000000000def0').length]).toEqual([0, 0]);
  expect(await nameOf(client.send(new RevokeSecurityGroupEgressCommand(allOut)))).toBe('InvalidPermission.NotFound');
  await client.send(new AuthorizeSecurityGroupIngressCommand(selfRef));
  await client.send(new AuthorizeSecurityGroupEgressCommand(allOut));
  expect(await nameOf(client.send(new AuthorizeSecurityGroupEgressCommand(allOut)))).toBe('InvalidPermission.Duplicate');
  expect(ec2.rulesOf('sg-0000000000000def0')[0].referencedGroupId).toBe('sg-0000000000000def0');
});
