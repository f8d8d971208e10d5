import { App, Stack } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import {
  AMAZON_IP_SPACE_CHANGED_TOPIC_ARN, IP_RANGE_SYNC_METRICS_NAMESPACE, IpRangeSource, IpRangeSyncedSecurityGroup, IpRangeSyncWarnings, SyncTarget,
} from '../../src';

// IpRangeSource and SyncTarget are sealed: their binding is internal, so a Python or Java subclass, or
// the base class instantiated directly, cannot work. The construct says so at once, with the path,
// the prop and the factories to use (instead of `t._bind is not a function` at synth).

function newStack(): { stack: Stack; vpc: ec2.Vpc } {
  const stack = new Stack(new App(), 'Test', { env: { account: '123456789012', region: 'eu-west-1' } });
  const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 2, natGateways: 0, restrictDefaultSecurityGroup: false });
  return { stack, vpc };
}
const hooks = () => IpRangeSource.githubMeta({ services: ['hooks'] });

describe('sealed strategy classes', () => {
  test('IpRangeSource instantiated directly (as IpRangeSource() in Python): the factories are named', () => {
    const { stack, vpc } = newStack();
    const direct = new (IpRangeSource as any)() as IpRangeSource;
    expect(() => new IpRangeSyncedSecurityGroup(stack, 'I', { vpc, sources: [hooks(), direct], ports: [ec2.Port.tcp(443)] }))
      .toThrow(/^Test\/I: invalid prop 'sources\[1\]': must be made by one of the IpRangeSource factories \(IpRangeSource\.awsIpRanges\(\), IpRangeSource\.githubMeta\(\), IpRangeSource\.url\(\)\); IpRangeSource cannot be instantiated directly or subclassed$/);
  });

  test('a SyncTarget subclass without the internal binding: the factories are named', () => {
    const { stack, vpc } = newStack();
    class ForeignTarget extends (SyncTarget as any) {}
    expect(() => new IpRangeSyncedSecurityGroup(stack, 'I', { vpc, sources: [hooks()], ports: [ec2.Port.tcp(443)], target: new ForeignTarget() as SyncTarget }))
      .toThrow(/^Test\/I: invalid prop 'target': must be made by one of the SyncTarget factories \(SyncTarget\.securityGroups\(\), SyncTarget\.prefixList\(\), SyncTarget\.wafIpSet\(\)\)/);
  });
});

describe('public surface', () => {
  test('constants as static members', () => {
    expect(IpRangeSyncedSecurityGroup.METRICS_NAMESPACE).toBe(IP_RANGE_SYNC_METRICS_NAMESPACE);
    expect(IpRangeSource.AMAZON_IP_SPACE_CHANGED_TOPIC_ARN).toBe(AMAZON_IP_SPACE_CHANGED_TOPIC_ARN);
    for (const id of [IpRangeSyncWarnings.MANAGED_PREFIX_LIST_AVAILABLE, IpRangeSyncWarnings.GITHUB_ACTIONS_IN_SECURITY_GROUPS]) {
      expect(id).toMatch(/^cdk-production-patterns:[a-z][A-Za-z]+$/);
    }
  });

  test('prefixLists are ec2.IPrefixList (usable with Peer.prefixList), one per family, pointing at the created lists', () => {
    const { stack, vpc } = newStack();
    const i = new IpRangeSyncedSecurityGroup(stack, 'Hooks', { vpc, sources: [hooks()], ports: [ec2.Port.tcp(443)], target: SyncTarget.prefixList({ maxEntries: 20 }) });
    expect(i.prefixLists.map((pl) => stack.resolve(pl.prefixListId))).toEqual([
      { 'Fn::GetAtt': ['HooksPrefixListIpv42E014BB2', 'PrefixListId'] },
      { 'Fn::GetAtt': ['HooksPrefixListIpv68480A405', 'PrefixListId'] },
    ]);
    const peer = ec2.Peer.prefixList(i.prefixLists[0].prefixListId);
    expect(peer.canInlineRule).toBe(false);
  });

  test('the managed-prefix-list warning carries its documented id', () => {
    const { stack, vpc } = newStack();
    const i = new IpRangeSyncedSecurityGroup(stack, 'Cf', { vpc, sources: [IpRangeSource.awsIpRanges({ services: ['CLOUDFRONT'] })], ports: [ec2.Port.tcp(443)] });
    const warnings = i.node.metadata.filter((m) => m.type === 'aws:cdk:warning').map((m) => String(m.data));
    expect(warnings.some((w) => w.includes(`[ack: ${IpRangeSyncWarnings.MANAGED_PREFIX_LIST_AVAILABLE}]`))).toBe(true);
  });
});
